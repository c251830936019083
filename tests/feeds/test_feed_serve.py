"""Conditional GET, gzip negotiation and the version-keyed representation cache."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkbridge.feeds import FeedCache, FeedFormat, Representation, conditional_response
from linkbridge.feeds.serve import (
    ATOM_CONTENT_TYPE,
    RSS_CONTENT_TYPE,
    accepts_gzip,
    content_type,
    etag_matches,
    http_date,
)

MODIFIED = datetime(2018, 1, 31, 23, 0, 0, tzinfo=UTC)
BODY = b"<?xml version='1.0' encoding='UTF-8'?><rss version=\"2.0\"><channel/></rss>" * 20
REP = Representation.build(BODY, content_type=RSS_CONTENT_TYPE, last_modified=MODIFIED)
ID_TAG, GZ_TAG = REP.etag, REP.gzip_etag
LM = "Wed, 31 Jan 2018 23:00:00 GMT"
OLDER = "Wed, 31 Jan 2018 22:59:59 GMT"
NEWER = "Thu, 01 Feb 2018 00:00:00 GMT"


def answer(
    *,
    method: str = "GET",
    inm: str | None = None,
    ims: str | None = None,
    ae: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    return conditional_response(
        REP,
        method=method,
        if_none_match=inm,
        if_modified_since=ims,
        accept_encoding=ae,
        max_age_s=900,
    )


def test_representation_validators() -> None:
    assert ID_TAG != GZ_TAG
    for tag in (ID_TAG, GZ_TAG):
        assert tag.startswith('"')
        assert tag.endswith('"')
        assert not tag.startswith("W/")
    assert gzip.decompress(REP.gzip_body) == BODY
    again = Representation.build(BODY, content_type=RSS_CONTENT_TYPE, last_modified=MODIFIED)
    assert again == REP  # gzip with mtime 0: same bytes every time
    assert http_date(REP.last_modified) == LM
    assert content_type(FeedFormat.RSS) == "application/rss+xml; charset=UTF-8"
    assert (
        content_type(FeedFormat.ATOM)
        == ATOM_CONTENT_TYPE
        == ("application/atom+xml; charset=UTF-8")
    )


def test_plain_200() -> None:
    status, headers, body = answer()
    assert status == 200
    assert body == BODY
    assert headers == {
        "ETag": ID_TAG,
        "Cache-Control": "public, max-age=900",
        "Vary": "Accept-Encoding",
        "Content-Type": RSS_CONTENT_TYPE,
        "Content-Length": str(len(BODY)),
        "Last-Modified": LM,
    }


def test_gzip_200() -> None:
    status, headers, body = answer(ae="gzip, deflate, br")
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["ETag"] == GZ_TAG
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Content-Length"] == str(len(REP.gzip_body))
    assert gzip.decompress(body) == BODY


@pytest.mark.parametrize("method", ["HEAD", "head"])
@pytest.mark.parametrize("ae", [None, "gzip"])
def test_head_has_headers_and_no_body(method: str, ae: str | None) -> None:
    status, headers, body = answer(method=method, ae=ae)
    _, get_headers, get_body = answer(ae=ae)
    assert (status, body) == (200, b"")
    assert headers == get_headers
    assert headers["Content-Length"] == str(len(get_body))


def test_other_methods_are_refused() -> None:
    assert answer(method="POST") == (405, {"Allow": "GET, HEAD"}, b"")


# (If-None-Match, If-Modified-Since, Accept-Encoding) -> status
CONDITIONAL = [
    # If-None-Match, identity
    (ID_TAG, None, None, 304),
    (f"W/{ID_TAG}", None, None, 304),
    (f'"nope", {ID_TAG}', None, None, 304),
    (f'"nope",{ID_TAG} , "other"', None, None, 304),
    ('"nope"', None, None, 200),
    ("*", None, None, 304),
    (ID_TAG.strip('"'), None, None, 304),  # unquoted, as some clients send it
    (GZ_TAG, None, None, 200),  # the gzip tag does not validate the identity body
    ("", None, None, 200),
    ("garbage,,,", None, None, 200),
    # If-None-Match, gzip
    (GZ_TAG, None, "gzip", 304),
    (f"W/{GZ_TAG}", None, "gzip", 304),
    (ID_TAG, None, "gzip", 200),
    ("*", None, "gzip", 304),
    # If-None-Match takes precedence over If-Modified-Since
    ('"nope"', LM, None, 200),
    ('"nope"', NEWER, "gzip", 200),
    (ID_TAG, OLDER, None, 304),
    (GZ_TAG, OLDER, "gzip", 304),
    # If-Modified-Since alone, per encoding
    (None, LM, None, 304),
    (None, NEWER, None, 304),
    (None, OLDER, None, 200),
    (None, LM, "gzip", 304),
    (None, OLDER, "gzip", 200),
    (None, "Thursday, 01-Feb-18 00:00:00 GMT", None, 304),  # RFC 850
    (None, "Thu Feb  1 00:00:00 2018", None, 304),  # asctime
    (None, "Thu, 01 Feb 2018 00:00:00 +0100", None, 304),  # equal instant, other offset
    (None, "Wed, 31 Jan 2018 23:59:59 +0100", None, 200),
    (None, "garbage", None, 200),
    (None, "", None, 200),
    (None, "Thu, 32 Feb 2018 00:00:00 GMT", None, 200),
    (None, "Thu, 01 Feb 99999 00:00:00 GMT", None, 200),
    ("   ", LM, None, 304),  # a blank If-None-Match counts as absent
]


@pytest.mark.parametrize(("inm", "ims", "ae", "status"), CONDITIONAL)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditional_get(
    method: str, inm: str | None, ims: str | None, ae: str | None, status: int
) -> None:
    got, headers, body = answer(method=method, inm=inm, ims=ims, ae=ae)
    assert got == status
    expected_tag = GZ_TAG if ae else ID_TAG
    assert headers["ETag"] == expected_tag
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Cache-Control"] == "public, max-age=900"
    if status == 304:
        assert body == b""
        assert set(headers) == {"ETag", "Vary", "Cache-Control"}
    elif method == "GET":
        assert body == (REP.gzip_body if ae else BODY)


def test_last_modified_ignores_microseconds() -> None:
    rep = Representation.build(
        b"x", content_type=RSS_CONTENT_TYPE, last_modified=MODIFIED + timedelta(microseconds=999)
    )
    status, _, _ = conditional_response(
        rep,
        method="GET",
        if_none_match=None,
        if_modified_since=LM,
        accept_encoding=None,
        max_age_s=1,
    )
    assert status == 304


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=0.001", True),
        ("gzip; q=1.0", True),
        ("gzip;q=1.5", False),  # an invalid qvalue: the element is ignored
        ("gzip;q=abc", False),
        ("*", True),
        ("*;q=0", False),
        ("*, gzip;q=0", False),  # an explicit refusal beats the wildcard
        ("gzip;q=0, *", False),
        ("br, *;q=0.1", True),
        (",,;;==", False),
    ],
)
def test_accept_encoding(header: str | None, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok


def test_etag_matching_is_weak() -> None:
    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches('"abc"', 'W/"abc"')
    assert not etag_matches('"abcd"', '"abc"')
    assert not etag_matches('"a,bc"', '"abc"')


def _rep(n: int) -> Representation:
    return Representation.build(
        str(n).encode(), content_type=RSS_CONTENT_TYPE, last_modified=MODIFIED
    )


async def _built(n: int) -> Representation:
    return _rep(n)


async def test_cache_builds_once_per_key() -> None:
    cache = FeedCache(4)
    calls: list[int] = []

    async def builder() -> Representation:
        calls.append(1)
        return _rep(len(calls))

    key = ("network|/||", 7, 0, "before", "rss")
    first = await cache.get_or_build(key, builder)
    assert await cache.get_or_build(key, builder) is first
    assert len(calls) == 1
    await cache.get_or_build(("network|/||", 8, 0, "before", "rss"), builder)
    await cache.get_or_build(("network|/||", 8, 1, "before", "rss"), builder)
    await cache.get_or_build(("network|/||", 8, 1, "after", "rss"), builder)
    await cache.get_or_build(("network|/||", 8, 1, "after", "atom"), builder)
    assert len(calls) == 5


async def test_one_build_at_a_time_others_wait_or_get_the_previous_body() -> None:
    cache = FeedCache(4)
    old_key, new_key = ("k", 1, 0, "before", "rss"), ("k", 1, 1, "before", "rss")
    await cache.get_or_build(old_key, lambda: _built(0))
    release = asyncio.Event()
    calls: list[int] = []

    async def slow() -> Representation:
        calls.append(1)
        await release.wait()
        return _rep(1)

    first = asyncio.create_task(cache.get_or_build(new_key, slow))
    await asyncio.sleep(0)  # the first request's build is under way
    waiting = [asyncio.create_task(cache.get_or_build(new_key, slow)) for _ in range(5)]
    stale = await cache.get_or_build(new_key, slow, serve_stale=True)
    assert stale.body == b"0"  # the previous version at once, no second build
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)
    release.set()
    reps = await asyncio.gather(first, *waiting)
    assert {r.body for r in reps} == {b"1"}
    assert len(calls) == 1


async def test_a_failed_build_fails_its_waiters_and_the_next_request_retries() -> None:
    cache = FeedCache(4)
    key = ("k", 1, 0, "before", "rss")
    release = asyncio.Event()

    async def broken() -> Representation:
        await release.wait()
        raise RuntimeError("store down")

    first = asyncio.create_task(cache.get_or_build(key, broken))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get_or_build(key, broken, serve_stale=True))  # no stale
    release.set()
    for task in (first, waiter):
        with pytest.raises(RuntimeError, match="store down"):
            await task
    assert (await cache.get_or_build(key, lambda: _built(2))).body == b"2"


async def test_cache_bound_at_its_edge() -> None:
    cache = FeedCache(3)
    keys = [(f"k{n}", 1, 0, "before", "rss") for n in range(4)]
    for n, key in enumerate(keys[:3]):
        await cache.get_or_build(key, lambda n=n: _built(n))  # type: ignore[misc]
    assert len(cache) == 3
    await cache.get_or_build(keys[0], lambda: _built(99))  # touch: k0 is now the newest
    await cache.get_or_build(keys[3], lambda: _built(3))
    assert len(cache) == 3
    assert keys[1] not in cache  # least recently used went
    assert keys[0] in cache
    assert keys[3] in cache


async def test_cache_prune_and_clear() -> None:
    cache = FeedCache(10)
    for version in (1, 2, 3):
        await cache.get_or_build(("k", version, 0, "before", "rss"), lambda v=version: _built(v))  # type: ignore[misc]
    assert cache.prune(3) == 2
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0


def test_cache_needs_room() -> None:
    with pytest.raises(ValueError, match=r"^serve: "):
        FeedCache(0)
    assert len(FeedCache(1)) == 0


HEADER = (
    st.none()
    | st.text(max_size=200)
    | st.sampled_from(
        [
            ID_TAG,
            GZ_TAG,
            "*",
            LM,
            "gzip;q=0",
            "W/",
            '"',
            "q=",
            "gzip;q=",
            "Mon, 01 Jan 0001 00:00:00 +2359",
        ]
    )
)


@given(
    method=st.sampled_from(["GET", "HEAD", "get", "PUT"]) | st.text(max_size=10),
    inm=HEADER,
    ims=HEADER,
    ae=HEADER,
    max_age=st.integers(min_value=0, max_value=10**9),
)
def test_fuzz_headers_never_raise(
    method: str, inm: str | None, ims: str | None, ae: str | None, max_age: int
) -> None:
    status, _, body = conditional_response(
        REP,
        method=method,
        if_none_match=inm,
        if_modified_since=ims,
        accept_encoding=ae,
        max_age_s=max_age,
    )
    assert status in (200, 304, 405)
    if status == 304 or method.upper() == "HEAD" or status == 405:
        assert body == b""
