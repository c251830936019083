"""verify(source, target) end to end: every outcome of the outcomes table, on loopback."""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from linkbridge.verify import MentionType, OutcomeKind, SafeFetcher, Verifier, VerifyOutcome
from tests.support.verify import TARGET, ScriptedResolver, target_predicate

MiB = 1024 * 1024
StartSource = Callable[..., Awaitable[Any]]
MakeFetcher = Callable[..., SafeFetcher]
IS_TARGET = target_predicate()

LINKING_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Omvärldsspaning oktober 2013</title>"
    "</head><body><article><h1>Omvärldsspaning</h1><p>Näringsdepartementet skriver om "
    f"<a href='{TARGET}'>innovationsupphandling</a> på sin blogg.</p></article></body></html>"
)
PLAIN_PAGE = "<html><head><title>Inget</title></head><body><p>Ingen länk.</p></body></html>"


def page(
    body: str | bytes, status: int = 200, content_type: str = "text/html", **headers: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(
            body=data, status=status, content_type=content_type, headers=headers or None
        )

    return handler


async def verify(
    verifier: Verifier, url: str, *, protocol: str = "pingback", **kwargs: Any
) -> VerifyOutcome:
    kwargs.setdefault("max_bytes", 153600)
    kwargs.setdefault("max_redirects", 0 if protocol == "pingback" else 10)
    return await verifier.verify(url, TARGET, IS_TARGET, protocol=protocol, **kwargs)


@pytest.fixture
async def site(start_source: StartSource, make_fetcher: MakeFetcher) -> tuple[Any, Verifier]:
    src: Any = None

    async def hop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": src.url("/linking")})

    src = await start_source(
        {
            "/linking": page(LINKING_PAGE),
            "/plain": page(PLAIN_PAGE),
            "/missing": page("nope", status=404),
            "/forbidden": page("no", status=403),
            "/gone": page("gone", status=410),
            "/meta-gone": page("<meta http-equiv='Status' content='410 Gone'>" + LINKING_PAGE),
            "/busy": page("slow down", status=429),
            "/broken": page("oops", status=500),
            "/unavailable": page("later", status=503),
            "/hop": hop,
            "/json": page(f'{{"target": "{TARGET}"}}', content_type="application/json"),
            "/text": page(f"Läs {TARGET}.", content_type="text/plain"),
        }
    )
    return src, Verifier(make_fetcher((src.port,)))


@pytest.mark.parametrize(
    ("path", "kind", "status", "reason"),
    [
        ("/linking", OutcomeKind.VERIFIED, 200, "links: links to the target"),
        ("/json", OutcomeKind.VERIFIED, 200, "links: links to the target"),
        ("/text", OutcomeKind.VERIFIED, 200, "links: links to the target"),
        ("/plain", OutcomeKind.NO_LINK, 200, "links: no link to the target"),
        ("/missing", OutcomeKind.MISSING, 404, "fetcher: source answered 404"),
        ("/forbidden", OutcomeKind.MISSING, 403, "fetcher: source answered 403"),
        ("/nowhere", OutcomeKind.MISSING, 404, "fetcher: source answered 404"),
        ("/gone", OutcomeKind.GONE, 410, "fetcher: source answered 410 (gone)"),
        ("/meta-gone", OutcomeKind.GONE, 200, "links: the page says it is gone"),
        ("/busy", OutcomeKind.TRANSIENT, 429, "fetcher: source answered 429"),
        ("/broken", OutcomeKind.TRANSIENT, 500, "fetcher: source answered 500"),
        ("/unavailable", OutcomeKind.TRANSIENT, 503, "fetcher: source answered 503"),
        ("/hop", OutcomeKind.MISSING, None, "fetcher: redirect past the hop limit (0)"),
    ],
)
async def test_outcome_table(
    site: tuple[Any, Verifier], path: str, kind: OutcomeKind, status: int | None, reason: str
) -> None:
    src, verifier = site
    outcome = await verify(verifier, src.url(path))
    assert (outcome.kind, outcome.status) == (kind, status)
    assert outcome.reason.startswith(reason)
    assert (outcome.fields is not None) is (kind is OutcomeKind.VERIFIED)


async def test_webmention_follows_the_redirect(site: tuple[Any, Verifier]) -> None:
    src, verifier = site
    outcome = await verify(verifier, src.url("/hop"), protocol="webmention")
    assert outcome.kind is OutcomeKind.VERIFIED
    assert outcome.fields is not None
    assert outcome.fields.final_url == src.url("/linking")
    assert outcome.fields.title == "Omvärldsspaning oktober 2013"
    assert outcome.fields.excerpt == (
        "[…] Omvärldsspaning Näringsdepartementet skriver om innovationsupphandling på sin "
        "blogg. […]"
    )
    assert outcome.fields.mention_type is MentionType.MENTION


async def test_refused_with_the_allowance_empty(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": page(LINKING_PAGE)})
    verifier = Verifier(make_fetcher((src.port,), allow=()))
    for url in (src.url("/"), f"http://2130706433:{src.port}/", "http://169.254.169.254/"):
        outcome = await verify(verifier, url)
        assert outcome.kind is OutcomeKind.REFUSED
        assert outcome.reason.startswith("guard: ")
    assert src.requests == []


async def test_nxdomain_is_missing(make_fetcher: MakeFetcher) -> None:
    resolver = ScriptedResolver({"gone.test": [socket.gaierror(socket.EAI_NONAME, "unknown")]})
    outcome = await verify(Verifier(make_fetcher(resolver=resolver)), "http://gone.test/")
    assert outcome.kind is OutcomeKind.MISSING
    assert outcome.reason == "fetcher: no such host gone.test"


async def test_timeout_is_transient(start_source: StartSource, make_fetcher: MakeFetcher) -> None:
    release = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    src = await start_source({"/": silent})
    try:
        outcome = await verify(Verifier(make_fetcher((src.port,), timeout_s=0.2)), src.url("/"))
    finally:
        release.set()
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.reason.startswith("fetcher: no answer within")


async def test_the_part_read_is_checked(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    """A link inside the cap verifies; the same link just past the cap does not."""
    filler = "<p>" + "x" * 2000 + "</p>"
    link = f"<a href='{TARGET}'>länk</a>"
    early = f"<html><body>{link}{filler * 10}</body></html>"
    late = f"<html><body>{filler * 10}{link}</body></html>"
    src = await start_source({"/early": page(early), "/late": page(late)})
    verifier = Verifier(make_fetcher((src.port,)))
    cap = late.encode().index(b"<a href=") + 20  # cuts the late link's href
    outcome = await verify(verifier, src.url("/early"), max_bytes=cap)
    assert outcome.kind is OutcomeKind.VERIFIED
    assert outcome.reason == f"links: links to the target (first {cap} bytes read)"
    outcome = await verify(verifier, src.url("/late"), max_bytes=cap)
    assert outcome.kind is OutcomeKind.NO_LINK
    outcome = await verify(verifier, src.url("/late"), max_bytes=len(late.encode()))
    assert outcome.kind is OutcomeKind.VERIFIED


@pytest.mark.slow  # over a second
async def test_gzip_bomb_with_a_link_verifies_on_the_part_read(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(LINKING_PAGE.encode().replace(b"</body></html>", b""))]
    parts += [packer.compress(b" " * MiB) for _ in range(128)]
    bomb = b"".join([*parts, packer.flush()])

    async def serve(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    src = await start_source({"/": serve})
    outcome = await verify(Verifier(make_fetcher((src.port,))), src.url("/"))
    assert outcome.kind is OutcomeKind.VERIFIED
    assert "(first 153600 bytes read)" in outcome.reason


@pytest.mark.slow
async def test_a_hundred_pings_naming_one_host(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    async def handler(request: web.Request) -> web.Response:
        for _ in range(5):
            await asyncio.sleep(0)
        await asyncio.sleep(0.005)
        return web.Response(text=LINKING_PAGE, content_type="text/html")

    src = await start_source({"/{name}": handler})
    verifier = Verifier(make_fetcher((src.port,), per_host_concurrency=2, global_concurrency=20))
    outcomes = await asyncio.gather(*(verify(verifier, src.url(f"/post-{i}")) for i in range(100)))
    assert {o.kind for o in outcomes} == {OutcomeKind.VERIFIED}
    assert len(src.requests) == 100
    assert src.max_active <= 2
