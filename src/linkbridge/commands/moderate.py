"""`linkbridge moderate …`: list the queue, approve, reject, restore, mark spam, block, unblock."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import asdict

from linkbridge.commands.context import make_clock, print_json, with_store
from linkbridge.model import LinkbackState
from linkbridge.moderation.service import BLOCK_SCOPES, Moderation, Verdict
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.text import for_terminal


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
    lst.add_argument("--offset", type=int, default=0, help="rows to skip (for the next page)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=list_linkbacks)
    for verdict in (Verdict.APPROVE, Verdict.REJECT):
        act = acts.add_parser(verdict.value, parents=[common, who],
                              help=f"{verdict.value} linkbacks by id")
        act.add_argument("ids", nargs="+", type=int, metavar="ID")
        act.set_defaults(handler=decide, verdict=verdict, block=None)
    back = acts.add_parser("restore", parents=[common, who],
                           help="bring back deleted, rejected or spam linkbacks (approved)")
    back.add_argument("ids", nargs="+", type=int, metavar="ID")
    back.set_defaults(handler=decide, verdict=Verdict.RESTORE, block=None)
    spam = acts.add_parser("spam", parents=[common, who], help="mark linkbacks as spam")
    spam.add_argument("ids", nargs="+", type=int, metavar="ID")
    spam.add_argument("--block", choices=BLOCK_SCOPES, default=None,
                      help="also block the source host, or its registrable domain "
                           "(an IP address: the address, or its /64 for IPv6)")
    spam.set_defaults(handler=decide, verdict=Verdict.SPAM)
    for name, list_name, present in (("block", "block", True), ("unblock", "block", False),
                                     ("allow", "allow", True), ("unallow", "allow", False)):
        act = acts.add_parser(name, parents=[common, who],
                              help=f"{name} a source: host name, URL, IP address or network")
        act.add_argument("host")
        act.set_defaults(handler=edit_host, list_name=list_name, present=present)


def moderation(settings: Settings, store: Store, args: argparse.Namespace) -> Moderation:
    """The moderation service for one command (its clock honours --at)."""
    return Moderation(settings, store, make_clock(args.at))


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


async def list_linkbacks(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        states = [LinkbackState(args.state)] if args.state else None
        rows = await store.list_linkbacks(states=states, limit=args.limit, offset=args.offset)
        if args.json:
            print_json([asdict(lb) for lb in rows])
            return 0
        for lb in rows:
            state = lb.state.value + ("*" if lb.reverify_pending else "")
            print(f"{lb.id:>6}  {state:<10} {lb.protocol.value:<10} "
                  f"{lb.blog}?p={lb.post_id:<6} {for_terminal(lb.source_url)}  "
                  f"{for_terminal(lb.display_name[:60])}")
        if not rows:
            print("no linkbacks")
        elif any(lb.reverify_pending for lb in rows):
            print("* a re-send's re-verification is queued; the state stands meanwhile")
        total = 0
        for state in states or list(LinkbackState):
            total += sum((await store.linkback_counts(state=state)).values())
        shown_to = args.offset + len(rows)
        if shown_to < total:
            flags = f" --state {args.state}" if args.state else ""
            print(f"rows {args.offset + 1}-{shown_to} of {total}; {total - shown_to} more: "
                  f"linkbridge moderate list{flags} --offset {shown_to}"
                  + (f" --limit {args.limit}" if args.limit != 100 else ""))
        return 0

    return await with_store(settings, run)


async def decide(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        outcomes = await moderation(settings, store, args).decide(
            args.ids, args.verdict, by=_actor(args), reason=args.reason, block=args.block
        )
        for o in outcomes:
            if o.linkback is None:
                print(o.error, file=sys.stderr)
                continue
            print(f"{o.linkback_id}: {o.linkback.state.value}")
            if o.blocked:
                print(f"blocked {o.blocked}")
        return 0 if all(o.ok for o in outcomes) else 1

    return await with_store(settings, run)


async def edit_host(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        edit = await moderation(settings, store, args).set_host(
            args.host, args.list_name, present=args.present, by=_actor(args), reason=args.reason
        )
        verb = args.list_name + "ed" if args.list_name == "allow" else "blocked"
        if edit.change is None:
            state = "already" if args.present else "was not"
            print(f"{edit.entry} {state} {verb}")
        else:
            print(f"{'' if args.present else 'un'}{verb} {edit.entry}")
        return 0

    return await with_store(settings, run)
