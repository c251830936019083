"""Hypothesis fuzzing of the three wire parsers: only their own errors ever escape."""

from __future__ import annotations

import html
import re
import xmlrpc.client
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from linkbridge.negotiate import wants_json
from linkbridge.receive.trackback_wire import (
    TrackbackError,
    TrackbackPing,
    parse_trackback,
    render_trackback_error,
)
from linkbridge.receive.webmention_wire import WebmentionError, parse_webmention
from linkbridge.receive.xmlrpc import (
    MethodCall,
    XmlRpcFault,
    parse_method_call,
    render_fault,
    render_response,
)
from linkbridge.text import xml_safe

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# --- XML-RPC -------------------------------------------------------------------------------

TAGS = [
    "methodCall",
    "methodName",
    "params",
    "param",
    "value",
    "string",
    "int",
    "i4",
    "i8",
    "boolean",
    "double",
    "base64",
    "dateTime.iso8601",
    "array",
    "data",
    "struct",
    "member",
    "name",
    "nil",
    "methodResponse",
    "x:y",
    "a",
]
JUNK = [
    "&amp;",
    "&lol;",
    "&#0;",
    "&#xD800;",
    "&#x10FFFF;",
    "<!DOCTYPE x>",
    '<!ENTITY a "b">',
    "]]>",
    "<![CDATA[<x>]]>",
    "<!-- c -->",
    "<?pi x?>",
    "\x00",
    "\ufeff",
    "<",
    "&",
    "\r\n",
    "1",
    "-0",
    "2147483648",
    "1e400",
    "nan",
    "AAAA",
    "====",
    "20180101T00:00:00",
    "pingback.ping",
]
ENCODING_LABELS = [
    "utf-8",
    "UTF-16",
    "utf-16le",
    "ISO-8859-1",
    "windows-1252",
    "utf-7",
    "bogus",
    "shift_jis",
    "base64",
    "cp500",
    "UTF-32",
    "idna",
    "x" * 60,
]
CODECS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252", "utf-32", "shift_jis"]

text_piece = st.one_of(st.text(max_size=12).map(html.escape), st.sampled_from(JUNK))


def _element(tag: str, text: str, children: list[str], tail: str) -> str:
    return f"<{tag}>{text}{''.join(children)}</{tag}>{tail}"


leaf = st.builds(_element, st.sampled_from(TAGS), text_piece, st.just([]), text_piece)
tree = st.recursive(
    leaf,
    lambda kids: st.builds(
        _element, st.sampled_from(TAGS), text_piece, st.lists(kids, max_size=4), st.just("")
    ),
    max_leaves=40,
)
prolog = st.one_of(
    st.just(""),
    st.just("<?xml version='1.0'?>"),
    st.sampled_from(ENCODING_LABELS).map(lambda e: f'<?xml version="1.0" encoding="{e}"?>'),
    st.sampled_from(["<?xml", "<?xml version='2.0'?>", "\ufeff", "<!DOCTYPE methodCall>"]),
)


def assert_parses_or_faults(body: bytes, max_elements: int) -> None:
    try:
        call = parse_method_call(body, max_elements=max_elements)
    except XmlRpcFault as exc:
        fault = exc
    else:
        assert isinstance(call, MethodCall)
        assert re.fullmatch(r"[A-Za-z0-9_.:/]+", call.name)
        return
    assert fault.code in (-32700, -32600)
    assert fault.fault_string == xml_safe(fault.fault_string)


@FUZZ
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=50))
def test_xmlrpc_arbitrary_bytes(body: bytes, max_elements: int) -> None:
    assert_parses_or_faults(body, max_elements)


@FUZZ
@given(prolog, tree, st.sampled_from(CODECS), st.integers(min_value=1, max_value=100))
def test_xmlrpc_structured_near_valid_xml(
    head: str, root: str, codec: str, max_elements: int
) -> None:
    body = (head + root).encode(codec, errors="replace")
    assert_parses_or_faults(body, max_elements)


xmlrpc_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r").filter(
        lambda c: xml_safe(c) == c
    ),
    max_size=30,
)
xmlrpc_values = st.recursive(
    st.one_of(
        xmlrpc_text,
        st.integers(min_value=-(2**31), max_value=2**31 - 1),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.binary(max_size=20).map(xmlrpc.client.Binary),
        st.none(),
    ),
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(xmlrpc_text, kids, max_size=4)
    ),
    max_leaves=20,
)


def as_parsed(value: Any) -> Any:
    """What the parser returns for what the Python client sent."""
    if isinstance(value, list):
        return tuple(as_parsed(v) for v in value)
    if isinstance(value, dict):
        return {k: as_parsed(v) for k, v in value.items()}
    if isinstance(value, xmlrpc.client.Binary):
        return value.data
    return value


@FUZZ
@given(st.lists(xmlrpc_values, max_size=4))
def test_xmlrpc_python_client_requests_round_trip(params: list[Any]) -> None:
    body = xmlrpc.client.dumps(tuple(params), "t.call", allow_none=True).encode()
    call = parse_method_call(body, max_elements=100_000)
    assert call == MethodCall("t.call", tuple(as_parsed(p) for p in params))


@FUZZ
@given(
    st.lists(xmlrpc_values, max_size=3),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=3)), min_size=1, max_size=4),
)
def test_xmlrpc_mutated_client_requests(params: list[Any], edits: list[tuple[int, bytes]]) -> None:
    body = bytearray(xmlrpc.client.dumps(tuple(params), "t.call", allow_none=True).encode())
    for position, replacement in edits:
        at = position % (len(body) + 1)
        body[at : at + len(replacement)] = replacement
    assert_parses_or_faults(bytes(body), 1000)


@FUZZ
@given(st.text(max_size=200), st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_rendered_responses_and_faults_always_parse(text: str, code: int) -> None:
    assert xmlrpc.client.loads(render_response(text)) == ((xml_safe(text),), None)
    assert xmlrpc.client.loads(render_response([text, {text: text}]))[0][0][0] == xml_safe(text)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        xmlrpc.client.loads(render_fault(code, text))
    assert (caught.value.faultCode, caught.value.faultString) == (code, xml_safe(text))


# --- TrackBack -----------------------------------------------------------------------------

CONTENT_TYPES = [
    None,
    "",
    "application/x-www-form-urlencoded",
    "text/plain",
    "garbage; ;;=",
    "application/x-www-form-urlencoded; charset=",
]
CHARSET_LABELS = ["utf-8", "ISO-8859-1", "utf-7", "bogus", "shift_jis", "utf-16", "base64", ""]
FIELDS = ["url", "title", "excerpt", "blog_name", "charset", "source", "target", "", "x"]


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(FIELDS),
                st.one_of(
                    st.binary(max_size=40),
                    st.tuples(st.text(max_size=40), st.sampled_from(CODECS)).map(
                        lambda tc: tc[0].encode(tc[1], errors="replace")
                    ),
                    st.sampled_from([b"http://a.example/", b"https://b.example/x#y", b"UTF-7"]),
                ),
            ),
            max_size=6,
        )
    )
    encoded = "&".join(f"{k}={quote_from_bytes(v)}" for k, v in pairs).encode()
    return (
        encoded
        if draw(st.booleans())
        else encoded.replace(b"%", draw(st.sampled_from([b"%", b"%%", b"+"])))
    )


content_types = st.one_of(
    st.sampled_from(CONTENT_TYPES),
    st.sampled_from(CHARSET_LABELS).map(
        lambda c: f"application/x-www-form-urlencoded; charset={c}"
    ),
    st.text(max_size=60),
)


def check_trackback(body: bytes, content_type: str | None) -> None:
    try:
        got = parse_trackback(body, content_type, max_body_bytes=1000)
    except TrackbackError as exc:
        error = exc
    else:
        check_ping_fields(got)
        return
    assert error.detail
    etree.fromstring(render_trackback_error(error.detail))


def check_ping_fields(got: TrackbackPing) -> None:
    assert got.url
    assert len(got.title) <= 251
    assert len(got.excerpt) <= 253
    for text in (got.title, got.excerpt, got.blog_name):
        assert not CONTROL.search(text)
        assert text == text.strip()


@FUZZ
@given(st.binary(max_size=1200), content_types)
def test_trackback_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    check_trackback(body, content_type)


@FUZZ
@given(form_bodies(), content_types)
def test_trackback_structured_forms(body: bytes, content_type: str | None) -> None:
    check_trackback(body, content_type)


@FUZZ
@given(st.text(max_size=300))
def test_trackback_error_always_well_formed(message: str) -> None:
    parsed = etree.fromstring(render_trackback_error(message))
    assert parsed.findtext("message") == xml_safe(message)


# --- Webmention ----------------------------------------------------------------------------


def check_webmention(body: bytes, content_type: str | None) -> None:
    try:
        got = parse_webmention(body, content_type, max_body_bytes=1000)
    except WebmentionError as exc:
        error = exc
    else:
        assert got.source.lower().startswith(("http://", "https://"))
        assert got.target.lower().startswith(("http://", "https://"))
        return
    assert error.status == 400
    assert error.reason.startswith("webmention_")


@FUZZ
@given(st.binary(max_size=1200), content_types)
def test_webmention_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    check_webmention(body, content_type)


@FUZZ
@given(form_bodies(), content_types)
def test_webmention_structured_forms(body: bytes, content_type: str | None) -> None:
    check_webmention(body, content_type)


@FUZZ
@given(st.one_of(st.none(), st.text(max_size=100)))
def test_wants_json_never_raises(accept: str | None) -> None:
    assert wants_json(accept) in (True, False)
