"""`linkbridge erase`: remove a person's linkbacks and data on request (GDPR art. 17)."""

from __future__ import annotations

import argparse

from linkbridge.commands.context import with_store
from linkbridge.commands.moderate import _actor, moderation
from linkbridge.errors import LinkbridgeError
from linkbridge.model import Erasure
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.text import for_terminal
from linkbridge.urls import Canonicaliser, fold_host, host_of


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("erase", parents=[common],
                       help="erase a person's linkbacks: by source URL, host or author")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--source", metavar="URL", help="the linkbacks from this page")
    which.add_argument("--host", help="every linkback from this host")
    which.add_argument("--author", metavar="NAME", help="every linkback naming this author")
    p.add_argument("--by", default=None, help="moderator name (default: the OS user)")
    p.add_argument("--reason", default="", help="why (recorded, e.g. the request's reference)")
    p.set_defaults(handler=erase)


def erasure_of(args: argparse.Namespace, settings: Settings) -> Erasure:
    """The Erasure the arguments name (a source URL matches as sent and as canonicalised)."""
    if args.source:
        try:
            canonical = Canonicaliser.for_settings(settings.site).source_key(args.source)
        except LinkbridgeError:
            canonical = ""
        return Erasure(source_url=args.source.strip(), source_canonical=canonical)
    if args.host:
        host = args.host.strip()
        return Erasure(host=fold_host(host_of(host) if "://" in host else host))
    return Erasure(author_name=args.author.strip())


async def erase(args: argparse.Namespace, settings: Settings) -> int:
    erasure = erasure_of(args, settings)

    async def run(store: Store) -> int:
        count = await moderation(settings, store, args).erase(
            erasure, by=_actor(args), reason=args.reason
        )
        what = for_terminal(args.source or args.host or args.author)
        print(f"erased {count} linkback(s) of {what}; recorded without the erased data")
        return 0

    return await with_store(settings, run)
