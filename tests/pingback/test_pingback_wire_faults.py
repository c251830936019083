"""Fault-interop codes through the real endpoint: raw bodies, hostile XML, caps at their edges."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Awaitable, Callable

import pytest

from linkbridge import keys
from tests.support import SEED_POST, Client
from tests.support.pingback import SourceSite, call_body, fault_code, post_raw

AppFor = Callable[..., Awaitable[Client]]
METHODS = ["pingback.extensions.getPingbacks", "pingback.ping", "system.listMethods"]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&lol9;</string></value></param>
<param><value><string>&lol9;</string></value></param></params></methodCall>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&xxe;</string></value></param>
<param><value><string>x</string></value></param></params></methodCall>"""


@pytest.mark.parametrize(
    "body",
    [
        b"<methodCall><methodName>pingback.ping</methodName>",  # truncated
        b"",
        b"not xml at all",
        b"<methodCall><methodName>a</methodName></methodcall>",
        BILLION_LAUGHS,
        XXE,
        b'<?xml version="1.0" encoding="utf-16"?><methodCall/>',  # declared, not UTF-16
        b"\xff\xfe<\x00m\x00",  # broken UTF-16
    ],
    ids=[
        "truncated",
        "empty",
        "text",
        "mismatched",
        "billion-laughs",
        "xxe",
        "fake-utf16",
        "broken-utf16",
    ],
)
async def test_not_well_formed_is_minus_32700(app_for: AppFor, body: bytes) -> None:
    client = await app_for()
    _, answer = await post_raw(client, body)
    assert fault_code(answer) == -32700
    assert "root:" not in answer.faultString
    assert "lollol" not in answer.faultString


@pytest.mark.parametrize(
    "body",
    [
        b"<methodResponse><params/></methodResponse>",
        b"<methodCall><params/></methodCall>",
        b"<methodCall><methodName>pingback.ping</methodName><params><param/></params></methodCall>",
        b"<methodCall><methodName>a b</methodName></methodCall>",
    ],
    ids=["response", "no-name", "empty-param", "bad-name"],
)
async def test_not_a_method_call_is_minus_32600(app_for: AppFor, body: bytes) -> None:
    client = await app_for()
    _, answer = await post_raw(client, body)
    assert fault_code(answer) == -32600


@pytest.mark.parametrize("method", ["wp.getUsersBlogs", "system.multicall", "pingback.pong"])
async def test_unknown_methods_are_minus_32601(app_for: AppFor, method: str) -> None:
    client = await app_for()
    _, answer = await post_raw(client, call_body(method, SEED_POST, SEED_POST))
    assert fault_code(answer) == -32601


@pytest.mark.parametrize(
    "params",
    [
        ("http://example.org/",),
        ("http://example.org/", SEED_POST, "extra"),
        (42, SEED_POST),
        ("http://example.org/", {"url": SEED_POST}),
        (),
    ],
    ids=["one", "three", "int", "struct", "none"],
)
async def test_wrong_parameters_are_minus_32602(
    site: SourceSite, app_for: AppFor, params: tuple[object, ...]
) -> None:
    client = await app_for()
    _, answer = await post_raw(client, call_body("pingback.ping", *params))
    assert fault_code(answer) == -32602
    assert site.hits == []


async def test_get_pingbacks_with_wrong_parameters_is_minus_32602(app_for: AppFor) -> None:
    client = await app_for()
    _, answer = await post_raw(client, call_body("pingback.extensions.getPingbacks"))
    assert fault_code(answer) == -32602


async def test_body_cap_at_its_edge(app_for: AppFor) -> None:
    client = await app_for(extra="[pingback]\nmax_body_bytes = 4096\n")
    call = call_body("system.listMethods")
    at_cap = call + b" " * (4096 - len(call))
    _, answer = await post_raw(client, at_cap)
    assert sorted(answer) == METHODS
    _, answer = await post_raw(client, at_cap + b" ")
    assert fault_code(answer) == -32700


async def test_element_cap_at_its_edge(app_for: AppFor) -> None:
    cap = 50
    client = await app_for(extra=f"[pingback]\nmax_elements = {cap}\n")

    def with_values(n: int) -> bytes:  # methodCall, methodName, params, param, value, array,
        values = "<value>x</value>" * n  # data: 7 elements, then n values
        return (
            "<methodCall><methodName>system.listMethods</methodName><params><param><value>"
            f"<array><data>{values}</data></array></value></param></params></methodCall>"
        ).encode()

    _, answer = await post_raw(client, with_values(cap - 7))
    assert sorted(answer) == METHODS
    _, answer = await post_raw(client, with_values(cap - 6))
    assert fault_code(answer) == -32600


async def test_utf16_request_is_decoded(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    source = site.linking("/utf16/")
    body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping", encoding="utf-16")
    _, answer = await post_raw(client, body.encode("utf-16"))
    assert isinstance(answer, str)
    assert source in answer
    assert len(await client.app[keys.STORE].list_linkbacks(host="127.0.0.1")) == 1


async def test_responses_are_utf8_with_non_ascii_intact(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    source = site.linking("/åäö/näringsliv/")
    resp = await client.post("/xmlrpc.php", data=call_body("pingback.ping", source, SEED_POST))
    assert resp.status == 200
    assert resp.charset == "utf-8"
    raw = await resp.read()
    (value,), _ = xmlrpc.client.loads(raw)
    assert source in value
