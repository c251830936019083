"""Hypothesis against the whole endpoint: any body gets HTTP 200 and a well-formed response."""

from __future__ import annotations

import asyncio
import http.client
import xmlrpc.client
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import SEED_POST, Client
from tests.support.pingback import NoSuchHostResolver, SourceSite, call_body, parse_response

AppFor = Callable[..., Awaitable[Client]]
METHODS = [
    "pingback.ping",
    "pingback.extensions.getPingbacks",
    "system.listMethods",
    "system.multicall",
    "wp.getUsersBlogs",
    "",
]
XML_TEXT = st.characters(exclude_categories=("Cs", "Cc"))
URLISH = st.one_of(
    st.just(SEED_POST),
    st.text(XML_TEXT, max_size=60),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["http", "https", "ftp", "file", "HTTP", ""]),
        st.sampled_from(
            [
                "www.naringsbloggen.se",
                "naringsbloggen.se",
                "127.0.0.1",
                "[::1]",
                "10.0.0.1",
                "blog.example",
                "nonexistent.invalid",
                "0x7f000001",
                "127.1",
                "[::ffff:127.0.0.1]",
                "%ff",
                "",
                "xn--",
                "a..b",
                "[::1",
                "[",
            ]
        ),
        st.sampled_from(["", ":80", ":0", ":99999", ":abc", ":"]),
        st.text(XML_TEXT, max_size=40),
    ),
)
SCALARS = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.booleans(),
    URLISH,
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def calls(draw: st.DrawFn) -> bytes:
    """A methodCall as a real client would write it, for a random method and parameters."""
    method = draw(st.sampled_from(METHODS))
    params = draw(st.one_of(st.tuples(URLISH, URLISH), st.lists(VALUES, max_size=4).map(tuple)))
    return call_body(method, *params) if method else xmlrpc.client.dumps(params).encode()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A valid pingback body with bytes cut, replaced or inserted."""
    body = bytearray(call_body("pingback.ping", "http://127.0.0.1:80/a", SEED_POST))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["cut", "replace", "insert"]))
        chunk = draw(
            st.sampled_from(
                [
                    b"<",
                    b">",
                    b"&",
                    b"\x00",
                    b"\xff",
                    b"<!DOCTYPE x>",
                    b"<![CDATA[",
                    b"]]>",
                    b"&amp;",
                    b"\xef\xbb\xbf",
                    b"<a>",
                ]
            )
        )
        if action == "cut":
            del body[at : at + draw(st.integers(1, 20))]
        elif action == "replace":
            body[at : at + len(chunk)] = chunk
        else:
            body[at:at] = chunk
    return bytes(body)


TARGETS = st.one_of(
    st.sampled_from(
        [
            SEED_POST,
            SEED_POST + "#comments",
            SEED_POST.replace("http:", "https:"),
            "http://www.naringsbloggen.se/innovation/?p=2187",
            SEED_POST.upper(),
        ]
    ),
    URLISH,
)
PINGS = st.builds(lambda src, target: call_body("pingback.ping", src, target), URLISH, TARGETS)
TOKENS = st.sampled_from(
    [
        "<methodCall>",
        "</methodCall>",
        "<methodName>",
        "</methodName>",
        "pingback.ping",
        "<params>",
        "</params>",
        "<param>",
        "</param>",
        "<value>",
        "</value>",
        "<string>",
        "</string>",
        "<int>",
        "</int>",
        "<array><data>",
        "</data></array>",
        "<struct>",
        "<member><name>n</name>",
        "</member>",
        "</struct>",
        "<nil/>",
        "<base64>",
        "</base64>",
        "<?xml version='1.0'?>",
        "<!ENTITY e 'x'>",
        "&e;",
        "&#0;",
        "&#x110000;",
        SEED_POST,
    ]
)
BODIES = st.one_of(
    PINGS,
    PINGS,
    calls(),
    mangled(),
    st.lists(TOKENS, max_size=30).map(lambda ts: "".join(ts).encode()),
    st.binary(max_size=600),
    st.builds(
        lambda call, enc: call.decode().encode(enc, "replace"),
        calls(),
        st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]),
    ),
)


def post_blocking(port: int, body: bytes) -> tuple[int, bytes]:
    """POST over a plain loopback connection (no proxy settings apply)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/xmlrpc.php", body=body, headers={"Content-Type": "text/xml"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.slow
async def test_any_body_gets_a_well_formed_method_response(
    site: SourceSite, app_for: AppFor
) -> None:
    # NXDOMAIN for every name: fuzzed sources never reach a real DNS server.
    client = await app_for(
        resolver=NoSuchHostResolver(), extra="[pingback]\ninline_budget_s = 0.5\n"
    )
    assert client.port is not None
    port = client.port
    seen: list[Any] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=BODIES)
    def check(body: bytes) -> None:
        status, raw = post_blocking(port, body)
        assert status == 200, (status, body[:200], raw[:200])
        seen.append(parse_response(raw))  # raises unless a well-formed methodResponse

    await asyncio.to_thread(check)
    assert any(isinstance(v, xmlrpc.client.Fault) for v in seen)
