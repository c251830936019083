"""XML-RPC wire format: real client serialisations, every fault code, encodings, rendering."""

from __future__ import annotations

import math
import xmlrpc.client
from datetime import UTC, datetime, timedelta, timezone

import pytest

from linkbridge.receive.xmlrpc import (
    FaultInterop,
    MethodCall,
    PingbackFault,
    XmlRpcFault,
    XmlRpcValue,
    expect_strings,
    parse_method_call,
    render_fault,
    render_response,
)

LIMIT = 2000


def parse(body: bytes, max_elements: int = LIMIT) -> MethodCall:
    return parse_method_call(body, max_elements=max_elements)


def fault_of(body: bytes, max_elements: int = LIMIT) -> XmlRpcFault:
    with pytest.raises(XmlRpcFault) as caught:
        parse(body, max_elements)
    return caught.value


def call_xml(inner: str, name: str = "pingback.ping") -> bytes:
    return (
        f"<methodCall><methodName>{name}</methodName><params>{inner}</params></methodCall>".encode()
    )


def one_value(value_xml: str) -> bytes:
    return call_xml(f"<param><value>{value_xml}</value></param>", "t.x")


# --- real client serialisation ------------------------------------------------------------


def test_python_client_pingback_request_parses() -> None:
    body = xmlrpc.client.dumps(
        ("http://källa.example/a?x=1&y=<2>", "http://www.naringsbloggen.se/p/"), "pingback.ping"
    ).encode("utf-8")
    call = parse(body)
    assert call == MethodCall(
        "pingback.ping", ("http://källa.example/a?x=1&y=<2>", "http://www.naringsbloggen.se/p/")
    )
    assert expect_strings(call, 2) == call.params


def test_python_client_every_type_parses() -> None:
    when = datetime(2018, 1, 31, 23, 59, 59)
    params = (
        "s",
        "",
        -(2**31),
        2**31 - 1,
        True,
        False,
        -2.5e-300,
        b"\x00\xffbin",
        xmlrpc.client.DateTime(when),
        [1, ["x", None]],
        {"a": {"b": [True]}, "": "empty key"},
        None,
    )
    body = xmlrpc.client.dumps(params, "t.types", allow_none=True).encode()
    call = parse(body)
    assert call.params == (
        "s",
        "",
        -(2**31),
        2**31 - 1,
        True,
        False,
        -2.5e-300,
        b"\x00\xffbin",
        when,
        (1, ("x", None)),
        {"a": {"b": (True,)}, "": "empty key"},
        None,
    )


def test_python_client_latin1_declared_request_parses() -> None:
    body = xmlrpc.client.dumps(("räksmörgås",), "t.x", encoding="iso-8859-1")
    assert "encoding='iso-8859-1'" in body
    assert parse(body.encode("iso-8859-1")).params == ("räksmörgås",)


def test_bare_value_is_a_string_and_whitespace_is_kept() -> None:
    assert parse(one_value("  hej  ")).params == ("  hej  ",)
    assert parse(one_value("")).params == ("",)


def test_other_integer_and_date_spellings() -> None:
    assert parse(one_value("<i8>-9223372036854775808</i8>")).params == (-(2**63),)
    assert parse(one_value("<int> +7 </int>")).params == (7,)
    parsed = parse(one_value("<dateTime.iso8601>2018-02-01T00:00:00+01:00</dateTime.iso8601>"))
    assert parsed.params == (datetime(2018, 2, 1, tzinfo=timezone(timedelta(hours=1))),)
    nil = '<ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/>'
    assert parse(one_value(nil)).params == (None,)


def test_comments_and_processing_instructions_are_ignored() -> None:
    body = call_xml("<!-- c --><param><value>a<!-- x -->b<?pi data?></value></param>")
    assert parse(body).params == ("ab",)


def test_unknown_method_name_is_returned_for_the_caller_to_refuse() -> None:
    assert parse(call_xml("", "no.such.method")).name == "no.such.method"
    assert FaultInterop.METHOD_NOT_FOUND == -32601


def test_call_without_params_element() -> None:
    body = b"<methodCall><methodName>system.listMethods</methodName></methodCall>"
    assert parse(body) == MethodCall("system.listMethods", ())


# --- faults: -32700 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"not xml at all",
        b"<methodCall><methodName>x</methodName>",
        b"<methodCall><methodName>x</methodName></methodCall><second/>",
        b"<methodCall><methodName>&undefined;</methodName></methodCall>",
        b"<methodCall><methodName>x</methodName></methodCall>\xff",
        b"<?xml version='1.0' encoding='utf-8'?><methodCall>\xc3\x28</methodCall>",
        b"<?xml version= encoding?><methodCall/>",
        b"\x00\x00\x00\x00",
    ],
)
def test_not_well_formed_is_32700(body: bytes) -> None:
    assert fault_of(body).code == -32700


# --- faults: -32600 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<methodResponse/>", "not <methodCall>"),
        (b"<methodCall/>", "<methodName> is missing"),
        (b"<methodCall><params/></methodCall>", "<methodName> is missing"),
        (b"<methodCall><methodName></methodName></methodCall>", "not a valid method name"),
        (b"<methodCall><methodName>a b</methodName></methodCall>", "not a valid method name"),
        (b"<methodCall><methodName><b/></methodName></methodCall>", "must not hold elements"),
        (b"<methodCall><methodName>x</methodName><extra/></methodCall>", "unexpected <extra>"),
        (call_xml("<value>x</value>"), "<param>"),
        (call_xml("<param><value>1</value><value>2</value></param>"), "<param>"),
        (one_value("<int>1.5</int>"), "not a valid integer"),
        (one_value("<int>2147483648</int>"), "not a valid integer"),
        (one_value("<i8>9223372036854775808</i8>"), "not a valid integer"),
        (one_value("<int>" + "9" * 5000 + "</int>"), "not a valid integer"),
        (one_value("<boolean>true</boolean>"), "0 or 1"),
        (one_value("<double>nan</double>"), "not a valid number"),
        (one_value("<double>1e999</double>"), "not a valid number"),
        (one_value("<base64>!!!</base64>"), "not valid base64"),
        (one_value("<dateTime.iso8601>yesterday</dateTime.iso8601>"), "not a valid date-time"),
        (one_value("<float>1</float>"), "unknown value type"),
        (one_value("<string>a</string><string>b</string>"), "exactly one typed element"),
        (one_value("text<string>b</string>"), "exactly one typed element"),
        (one_value("<string><b>x</b></string>"), "must not hold elements"),
        (one_value("<nil>x</nil>"), "must be empty"),
        (one_value("<array><value>1</value></array>"), "exactly one <data>"),
        (one_value("<array><data><i4>1</i4></data></array>"), "only <value>"),
        (one_value("<struct><member><value>1</value></member></struct>"), "<member>"),
        (one_value("<struct><x/></struct>"), "<member>"),
    ],
)
def test_not_xml_rpc_is_32600(body: bytes, words: str) -> None:
    fault = fault_of(body)
    assert fault.code == -32600
    assert words in fault.fault_string


# --- faults: -32602 via expect_strings -----------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [(), ("a",), ("a", "b", "c"), ("a", 1), (b"a", "b"), ("a", None), (("a",), "b")],
)
def test_expect_strings_refuses_anything_but_two_strings(params: tuple[object, ...]) -> None:
    call = MethodCall("pingback.ping", params)  # type: ignore[arg-type]
    with pytest.raises(XmlRpcFault) as caught:
        expect_strings(call, 2)
    assert caught.value.code == -32602
    assert "pingback.ping" in caught.value.fault_string


def test_wrong_arity_from_raw_body_is_32602() -> None:
    call = parse(call_xml("<param><value><string>only one</string></value></param>"))
    with pytest.raises(XmlRpcFault) as caught:
        expect_strings(call, 2)
    assert caught.value.code == FaultInterop.INVALID_PARAMS


# --- limits at their edge ------------------------------------------------------------------


def strings_call(n: int) -> tuple[bytes, int]:
    """A call with n string params and its element count (3 + 3 per param)."""
    params = "".join(f"<param><value><string>{i}</string></value></param>" for i in range(n))
    return call_xml(params), 3 + 3 * n


def test_element_cap_exactly_at_the_limit_passes() -> None:
    body, count = strings_call(10)
    assert len(parse(body, max_elements=count).params) == 10


def test_element_cap_one_past_the_limit_is_refused() -> None:
    body, count = strings_call(10)
    fault = fault_of(body, max_elements=count - 1)
    assert fault.code == -32600
    assert f"more than {count - 1} elements" in fault.fault_string


def test_element_cap_in_a_body_larger_than_one_feed_chunk() -> None:
    body, count = strings_call(20000)
    assert len(body) > 16384 * 16
    assert fault_of(body, max_elements=LIMIT).code == -32600
    assert len(parse(body, max_elements=count).params) == 20000


def nested(levels: int) -> bytes:
    return one_value("<array><data><value>" * levels + "x" + "</value></data></array>" * levels)


def test_nesting_at_the_limit_passes_and_one_more_is_refused() -> None:
    value = parse(nested(64), max_elements=10_000).params[0]
    for _ in range(64):
        assert isinstance(value, tuple)
        value = value[0]
    assert value == "x"
    assert "nested deeper" in fault_of(nested(65), max_elements=10_000).fault_string


def test_nesting_past_libxml_depth_is_a_fault_not_a_crash() -> None:
    assert fault_of(nested(200), max_elements=10_000).code in (-32700, -32600)


# --- encodings -----------------------------------------------------------------------------

SWEDISH = "Näringsbloggen: räksmörgås & €"
DOC = (
    "<?xml version='1.0' encoding='{enc}'?><methodCall><methodName>t.x</methodName>"
    "<params><param><value><string>{text}</string></value></param></params></methodCall>"
)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-16", "utf-16"),  # with BOM (Python writes one)
        ("UTF-16", "utf-16-le"),  # no BOM, little-endian
        ("UTF-16", "utf-16-be"),  # no BOM, big-endian
        ("utf-16le", "utf-16-le"),
        ("UTF-32", "utf-32"),
        ("UTF-8", "utf-8-sig"),
        ("windows-1252", "cp1252"),
        ("ISO-8859-15", "iso8859-15"),
    ],
)
def test_declared_encodings_decode(label: str, codec: str) -> None:
    body = DOC.format(enc=label, text=SWEDISH.replace("&", "&amp;")).encode(codec)
    assert parse(body).params == (SWEDISH,)


def test_iso_8859_1_body_decodes() -> None:
    text = "Hej då, räksmörgås"
    body = DOC.format(enc="ISO-8859-1", text=text).encode("latin-1")
    assert parse(body).params == (text,)


def test_iso_8859_1_label_reads_windows_1252_bytes_like_browsers() -> None:
    body = DOC.format(enc="ISO-8859-1", text="€").encode("cp1252")
    assert parse(body).params == ("€",)


def test_utf16_bom_wins_over_a_wrong_declaration() -> None:
    body = DOC.format(enc="ISO-8859-1", text="åäö").encode("utf-16")
    assert parse(body).params == ("åäö",)


def test_no_declaration_means_utf8() -> None:
    assert parse(one_value("<string>ö</string>")).params == ("ö",)


@pytest.mark.parametrize(
    "label", ["UTF-7", "utf7", "bogus-charset", "base64", "rot13", "unicode_escape", "idna"]
)
def test_unknown_refused_or_non_text_encodings_are_32700(label: str) -> None:
    fault = fault_of(DOC.format(enc=label, text="x").encode())
    assert fault.code == -32700
    assert "encoding" in fault.fault_string


def test_utf16_declared_over_ascii_bytes_is_32700() -> None:
    assert fault_of(DOC.format(enc="UTF-16", text="x").encode()).code == -32700


def test_bytes_invalid_in_the_declared_encoding_are_32700() -> None:
    body = DOC.format(enc="shift_jis", text="x").encode().replace(b"x", b"\x81\x20\xff")
    assert fault_of(body).code == -32700


def test_truncated_utf16_is_32700() -> None:
    body = DOC.format(enc="UTF-16", text="x").encode("utf-16")[:-1]
    assert fault_of(body).code == -32700


# --- rendering -----------------------------------------------------------------------------


def test_success_string_round_trips_through_python_client() -> None:
    body = render_response("Pingback från <a> & b registered.")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>')
    assert body.count(b"<string>") == 1
    assert xmlrpc.client.loads(body) == (("Pingback från <a> & b registered.",), None)


def test_list_methods_renders_an_array_of_strings() -> None:
    methods: list[XmlRpcValue] = [
        "pingback.ping", "pingback.extensions.getPingbacks", "system.listMethods"
    ]
    assert xmlrpc.client.loads(render_response(methods))[0] == (methods,)


def test_every_value_type_round_trips() -> None:
    value = {
        "s": "x\r\ny\t",
        "i": 5,
        "big": 2**40,
        "b": False,
        "d": 0.1,
        "bin": b"\x00\x01",
        "when": datetime(2018, 2, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))),
        "nil": None,
        "list": ("a", ["b"]),
    }
    (loaded,), _ = xmlrpc.client.loads(
        render_response(value),  # type: ignore[arg-type]  # a dict of every kind of value
        use_builtin_types=True,
    )
    assert loaded["s"] == "x\r\ny\t"
    assert loaded["big"] == 2**40
    assert loaded["bin"] == b"\x00\x01"
    assert loaded["when"] == datetime(2018, 1, 31, 23, 0)  # sent as UTC
    assert loaded["nil"] is None
    assert loaded["list"] == ["a", ["b"]]
    assert loaded["d"] == 0.1


@pytest.mark.parametrize("bad", [math.nan, math.inf, 2**63, object(), {1: "x"}])
def test_unrenderable_values_raise_programming_errors(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        render_response(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", list(PingbackFault) + list(FaultInterop))
def test_every_fault_round_trips(code: int) -> None:
    body = render_fault(code, "Meddelande: <b>&</b>")
    with pytest.raises(xmlrpc.client.Fault) as caught:
        xmlrpc.client.loads(body)
    assert caught.value.faultCode == int(code)
    assert caught.value.faultString == "Meddelande: <b>&</b>"


def test_characters_xml_forbids_are_removed_when_rendering() -> None:
    text = "a\x00b\x01c\x0bd\x1f\ud800e\ufffef"
    body = render_fault(0, text)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        xmlrpc.client.loads(body)
    assert caught.value.faultString == "abcdef"
    assert xmlrpc.client.loads(render_response(text))[0] == ("abcdef",)


def test_pingback_fault_codes_have_their_spec_values() -> None:
    assert [int(c) for c in PingbackFault] == [0, 16, 17, 32, 33, 48, 49]  # 50 is never sent
    assert PingbackFault.ALREADY_REGISTERED == 0x30


def test_fault_is_a_linkbridge_error_with_status_200() -> None:
    fault = XmlRpcFault(PingbackFault.SOURCE_NOT_FOUND, "gone")
    assert fault.status == 200
    assert str(fault).startswith("xmlrpc: ")
    assert (fault.code, fault.fault_string) == (16, "gone")


def test_naive_datetime_renders_unchanged() -> None:
    when = datetime(2017, 12, 1, 12, 0, 0)
    assert b"20171201T12:00:00" in render_response(when)
    aware = when.replace(tzinfo=UTC)
    assert b"20171201T12:00:00" in render_response(aware)
