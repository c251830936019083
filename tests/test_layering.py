"""The house rules on layering, checked: import contracts, and a redirect path without I/O."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from importlinter.cli import lint_imports

import linkbridge
from tests.support import AFTER, BEFORE, ROOT, SEED_POST, AppFactory

PACKAGE = str(Path(linkbridge.__file__).resolve().parent)
IO_MODULES = ("store/", "verify/fetcher.py", "verify/guard.py")
"""Where a call means the request reached the store or the fetcher."""
HANDLER = ("web/site.py", "make_catch_all.<locals>.handle_any")


def test_import_contracts_hold(monkeypatch: Any) -> None:
    monkeypatch.chdir(ROOT)  # the contracts' own types are imported from tests/
    assert lint_imports(no_cache=True, no_logo=True) == 0, "see the broken contracts above"


IN_REQUEST: ContextVar[bool] = ContextVar("in_request", default=False)


class CallTrace:
    """Every call into linkbridge's own code made on behalf of a catch-all request.

    The mark is a context variable set when the handler starts: tasks the handler creates (a
    shielded intake, a thread for a read) copy the context, so work it hands off is traced too.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        del arg  # the profiler's third argument: nothing needed from it
        if event != "call":
            return
        filename = frame.f_code.co_filename
        if not filename.startswith(PACKAGE):
            return
        call = (Path(filename).relative_to(PACKAGE).as_posix(), frame.f_code.co_qualname)
        if call == HANDLER:
            IN_REQUEST.set(True)
        if IN_REQUEST.get():
            self.calls.append(call)

    def io_calls(self) -> list[tuple[str, str]]:
        return [(w, n) for w, n in self.calls if w.startswith(IO_MODULES)]


@contextmanager
def tracing() -> Iterator[CallTrace]:
    trace = CallTrace()
    sys.setprofile(trace)
    threading.setprofile(trace)  # threads started while tracing (the store's readers)
    try:
        yield trace
    finally:
        threading.setprofile(None)
        sys.setprofile(None)


async def test_retired_url_get_reaches_neither_store_nor_fetcher(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    assert (await client.get("/readyz")).status == 200
    paths = [urlsplit(SEED_POST).path, "/innovation/no-such-post/", "/never-was-a-blog/"]
    with tracing() as trace:
        statuses = [(await client.get(p, allow_redirects=False)).status for p in paths]
    assert all(s in (301, 308, 410) for s in statuses), statuses
    assert ("retire/table.py", "RedirectTable.lookup") in trace.calls
    assert trace.io_calls() == []


async def test_the_trace_sees_a_request_that_does_reach_the_store(lb_app: AppFactory) -> None:
    """The check above can fail: a trackback ping (catch-all, before the instant) is stored."""
    client = await lb_app(at=BEFORE)
    assert (await client.get("/readyz")).status == 200
    with tracing() as trace:
        await client.post(
            f"{urlsplit(SEED_POST).path}trackback/", data={"url": "http://127.0.0.1:9/x"}
        )
    assert any(where.startswith("store/") for where, _ in trace.io_calls())
