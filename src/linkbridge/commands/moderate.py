"""`linkbridge moderate …`: list the queue, approve, reject, mark spam, block and unblock."""

from __future__ import annotations

import argparse
import getpass
from dataclasses import asdict

from linkbridge.commands.context import make_clock, print_json, with_store
from linkbridge.model import LinkbackState
from linkbridge.moderation.rules import registrable_domain
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.text import for_terminal
from linkbridge.urls import fold_host


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("moderate", help="moderate linkbacks and host lists")
    acts = p.add_subparsers(dest="action", required=True)
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--by", default=None, help="moderator name (default: the OS user)")
    who.add_argument("--reason", default="", help="why (recorded with the decision)")

    lst = acts.add_parser("list", parents=[common], help="list linkbacks")
    lst.add_argument("--state", choices=[s.value for s in LinkbackState], default=None)
    lst.add_argument("--limit", type=int, default=100, help="rows to show, newest first")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=list_linkbacks)
    for name, state in (("approve", LinkbackState.APPROVED), ("reject", LinkbackState.REJECTED)):
        act = acts.add_parser(name, parents=[common, who], help=f"{name} linkbacks by id")
        act.add_argument("ids", nargs="+", type=int, metavar="ID")
        act.set_defaults(handler=decide, state=state, block=None)
    spam = acts.add_parser("spam", parents=[common, who], help="mark linkbacks as spam")
    spam.add_argument("ids", nargs="+", type=int, metavar="ID")
    spam.add_argument("--block", choices=["host", "domain"], default=None,
                      help="also block the source host, or its registrable domain")
    spam.set_defaults(handler=decide, state=LinkbackState.SPAM)
    for name in ("block", "unblock"):
        act = acts.add_parser(name, parents=[common, who], help=f"{name} a source host")
        act.add_argument("host")
        act.set_defaults(handler=block_host, unblock=name == "unblock")


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


async def list_linkbacks(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        states = [LinkbackState(args.state)] if args.state else None
        rows = await store.list_linkbacks(states=states, limit=args.limit)
        if args.json:
            print_json([asdict(lb) for lb in rows])
            return 0
        for lb in rows:
            print(f"{lb.id:>6}  {lb.state.value:<10} {lb.protocol.value:<10} "
                  f"{lb.blog}?p={lb.post_id:<6} {for_terminal(lb.source_url)}  "
                  f"{for_terminal(lb.display_name[:60])}")
        if not rows:
            print("no linkbacks")
        return 0

    return await with_store(settings, run)


async def decide(args: argparse.Namespace, settings: Settings) -> int:
    now = make_clock(args.at).now()
    actor = _actor(args)

    async def run(store: Store) -> int:
        for linkback_id in args.ids:
            lb = await store.set_state(linkback_id, args.state, actor=actor,
                                       reason=args.reason, now=now)
            print(f"{lb.id}: {lb.state.value}")
            if args.block:
                entry = (lb.source_host if args.block == "host"
                         else registrable_domain(lb.source_host))
                await store.add_host(entry, "block", reason=f"spam #{lb.id}", actor=actor,
                                     now=now)
                print(f"blocked {entry}")
        return 0

    return await with_store(settings, run)


async def block_host(args: argparse.Namespace, settings: Settings) -> int:
    now = make_clock(args.at).now()
    host = fold_host(args.host)

    async def run(store: Store) -> int:
        if args.unblock:
            removed = await store.remove_host(host, "block")
            print(f"unblocked {host}" if removed else f"{host} was not blocked")
            return 0
        await store.add_host(host, "block", reason=args.reason, actor=_actor(args), now=now)
        print(f"blocked {host}")
        return 0

    return await with_store(settings, run)
