"""Helpers the verify tests share: the target predicate, a scripted DNS, waiting for flags."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult

from linkbridge.urls import Canonicaliser
from tests.support import PUBLIC_BASE

TARGET = "http://www.naringsbloggen.se/innovation/innovationsstrategi/innovationsupphandling/"
CANON = Canonicaliser.for_site(PUBLIC_BASE, ["naringsbloggen.se"], ["p", "page_id", "cat"])
LOOPBACK = ("127.0.0.0/8",)


def target_predicate(target: str = TARGET, canon: Canonicaliser = CANON) -> Callable[[str], bool]:
    """What the intake passes: our host and the same canonical path key as `target`."""
    key = canon.path_key(target)

    def is_target(url: str) -> bool:
        return canon.is_own(url) and canon.path_key(url) == key

    return is_target


class ScriptedResolver(AbstractResolver):
    """DNS as a test scripts it: each name maps to a list of answers, used in turn."""

    def __init__(self, answers: dict[str, list[list[str] | OSError]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        script = self.answers[host]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, OSError):
            raise answer
        return [
            ResolveResult(
                hostname=host,
                host=addr,
                port=port,
                family=socket.AF_INET6 if ":" in addr else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for addr in answer
        ]

    async def close(self) -> None:
        pass


async def wait_for_flag(flag: asyncio.Event, what: str) -> None:
    """Wait for a server-side event (a generous safety bound, not a timing assertion)."""
    try:
        await asyncio.wait_for(flag.wait(), 30)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


class LoopbackResolver(AbstractResolver):
    """Every name under `suffix` is 127.0.0.1: many source hosts, one loopback server."""

    def __init__(self, suffix: str = ".test") -> None:
        self.suffix = suffix

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not host.endswith(self.suffix):
            raise OSError(socket.EAI_NONAME, f"no such test host: {host}")
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass
