"""`linkbridge admin set-password`: give a moderator a password (and so turn /admin on)."""

from __future__ import annotations

import argparse
import getpass
import re
import sys

from linkbridge.commands.context import with_store
from linkbridge.passwords import (
    DEFAULT_USER,
    WeakPassword,
    check_password_policy,
    hash_password,
)
from linkbridge.settings import Settings
from linkbridge.store import Store

_USER = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("admin", help="the moderator's web page")
    acts = p.add_subparsers(dest="action", required=True)
    pw = acts.add_parser(
        "set-password",
        parents=[common],
        help="set a moderator's password (read from stdin or a prompt)",
    )
    pw.add_argument("--user", default=DEFAULT_USER, help=f"user name (default: {DEFAULT_USER})")
    pw.set_defaults(handler=set_password)


def read_password() -> str:
    """From a prompt (twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise WeakPassword("admin: the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def set_password(args: argparse.Namespace, settings: Settings) -> int:
    if not _USER.match(args.user):
        print("admin: user names are 1-64 letters, digits or ._@-", file=sys.stderr)
        return 2

    async def run(store: Store) -> int:
        # Asked for only once the store is known to exist.
        password = read_password()
        check_password_policy(password, settings.admin.password_min_chars)
        password_hash = hash_password(password)
        await store.set_admin_password(args.user, password_hash)
        print(f"password set for {args.user}; /admin is on (their old sessions ended)")
        return 0

    return await with_store(settings, run)
