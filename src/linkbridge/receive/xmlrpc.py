"""XML-RPC wire format for pingback: a hostile-input-safe methodCall parser and renderers."""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import TypeAlias

from lxml import etree

from linkbridge.errors import LinkbridgeError
from linkbridge.text import CharsetRefused, decode, resolve_charset, xml_escape

XmlRpcValue: TypeAlias = (
    str
    | bool
    | int
    | float
    | bytes
    | datetime
    | tuple["XmlRpcValue", ...]
    | list["XmlRpcValue"]
    | dict[str, "XmlRpcValue"]
    | None
)
"""A value XML-RPC can carry; arrays parse as tuples, structs as dicts, base64 as bytes."""


class FaultInterop(IntEnum):
    """The specification-for-fault-code-interoperability codes this parser and callers use."""

    NOT_WELL_FORMED = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602


class PingbackFault(IntEnum):
    """Pingback 1.0 fault codes (0x0032, upstream error, is never sent: such a source is queued)."""

    GENERIC = 0
    SOURCE_NOT_FOUND = 16  # 0x0010: the source URI does not exist
    SOURCE_HAS_NO_LINK = 17  # 0x0011: the source does not link to the target
    TARGET_NOT_FOUND = 32  # 0x0020: the target URI does not exist
    TARGET_NOT_USABLE = 33  # 0x0021: the target cannot be used as a target
    ALREADY_REGISTERED = 48  # 0x0030: the pingback has already been registered
    ACCESS_DENIED = 49  # 0x0031


class XmlRpcFault(LinkbridgeError):
    """A fault to send back: `code` and `fault_string` go on the wire, inside HTTP 200."""

    status = 200
    reason = "xmlrpc_fault"

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"xmlrpc: fault {code}: {message}")
        self.code = int(code)
        self.fault_string = message


@dataclass(frozen=True, slots=True)
class MethodCall:
    """A parsed methodCall: the method name as sent and its parameters in order."""

    name: str
    params: tuple[XmlRpcValue, ...]


_FEED_CHUNK_BYTES = 16384
_MAX_NESTING = 64
"""Array/struct nesting refused past this (libxml2 already stops at depth 256)."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL = re.compile(
    r"""\A<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1"""
    r"""(?:\s+encoding\s*=\s*(["'])(?P<enc>[A-Za-z][A-Za-z0-9._-]*)\2)?"""
    r"""(?:\s+standalone\s*=\s*(["'])(?:yes|no)\4)?\s*\?>"""
)
_XML_DECL_START = re.compile(r"\A<\?xml[\s?]")
_DECLARATION = re.compile(r"<!(?!--|\[CDATA\[)")
_METHOD_NAME = re.compile(r"\A[A-Za-z0-9_.:/]{1,200}\Z")
_INT = re.compile(r"\A[+-]?[0-9]{1,20}\Z")
_DOUBLE = re.compile(r"\A[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?\Z")
_INT_RANGES = {"i4": 2**31, "int": 2**31, "i8": 2**63}


def parse_method_call(body: bytes, *, max_elements: int) -> MethodCall:
    """Parse a methodCall body; any problem is an XmlRpcFault, never another exception."""
    root = _parse_tree(_to_utf8(body), max_elements)
    if root.tag != "methodCall":
        raise _invalid(f"root element is <{_tag(root)}>, not <methodCall>")
    name: str | None = None
    params: tuple[XmlRpcValue, ...] = ()
    for child in root:
        if child.tag == "methodName" and name is None:
            name = _leaf_text(child).strip()
        elif child.tag == "params":
            params = tuple(_param(p) for p in child)
        else:
            raise _invalid(f"unexpected <{_tag(child)}> in <methodCall>")
    if name is None:
        raise _invalid("<methodName> is missing")
    if not _METHOD_NAME.match(name):
        raise _invalid("<methodName> is not a valid method name")
    return MethodCall(name=name, params=params)


def expect_strings(call: MethodCall, n: int) -> tuple[str, ...]:
    """The call's parameters if they are exactly `n` strings, else fault -32602."""
    if len(call.params) != n or not all(isinstance(p, str) for p in call.params):
        raise XmlRpcFault(
            FaultInterop.INVALID_PARAMS, f"{call.name} takes exactly {n} string parameters"
        )
    return tuple(str(p) for p in call.params)


def render_response(value: XmlRpcValue) -> bytes:
    """A UTF-8 methodResponse carrying `value`; ValueError/TypeError if it cannot be sent."""
    out = ["<methodResponse><params><param>"]
    _render(value, out, 0)
    out.append("</param></params></methodResponse>")
    return _document(out)


def render_fault(code: int, message: str) -> bytes:
    """A UTF-8 methodResponse carrying a fault struct."""
    out = ["<methodResponse><fault>"]
    _render({"faultCode": int(code), "faultString": message}, out, 0)
    out.append("</fault></methodResponse>")
    return _document(out)


def _to_utf8(body: bytes) -> bytes:
    """Decode by BOM, byte pattern or declaration; return UTF-8 with the declaration removed."""
    if not body.strip():
        raise _not_well_formed("empty body")
    family, codec = _detect(body)
    if codec is None:
        head = body[:512].decode("latin-1")
        match = _XML_DECL.match(head)
        label = match.group("enc") if match else None
        try:
            codec = resolve_charset(label) if label else "utf-8"
        except CharsetRefused as exc:
            raise _not_well_formed(f"unsupported encoding: {exc}") from None
        if codec.startswith(("utf-16", "utf-32")):
            raise _not_well_formed(f"declared {label} but the bytes are not")
    try:
        text = decode(body, codec)
    except UnicodeDecodeError:
        raise _not_well_formed(f"the body is not valid {family or codec}") from None
    text = text.removeprefix("\ufeff")
    match = _XML_DECL.match(text)
    if match:
        text = text[match.end() :]
    elif _XML_DECL_START.match(text):
        raise _not_well_formed("malformed XML declaration")
    if _DECLARATION.search(text):
        raise _not_well_formed("DOCTYPE and other declarations are refused")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_well_formed("the body holds unpaired surrogates") from None


def _detect(body: bytes) -> tuple[str | None, str | None]:
    """(family name, codec) from a BOM or a 16/32-bit pattern, or (None, None) for ASCII-like."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, codec
    b = body[:4].ljust(4, b"\xff")
    if b[0] and not (b[1] or b[2] or b[3]):
        return "utf-32-le", "utf-32-le"
    if b[3] and not (b[0] or b[1] or b[2]):
        return "utf-32-be", "utf-32-be"
    if b[0] and b[2] and not (b[1] or b[3]):
        return "utf-16-le", "utf-16-le"
    if b[1] and b[3] and not (b[0] or b[2]):
        return "utf-16-be", "utf-16-be"
    return None, None


def _parse_tree(data: bytes, max_elements: int) -> etree._Element:
    """Parse with every network/DTD/entity feature off, stopping once past `max_elements`."""
    parser = etree.XMLPullParser(
        events=("start",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",
    )
    count = 0
    try:
        for start in range(0, len(data), _FEED_CHUNK_BYTES):
            parser.feed(data[start : start + _FEED_CHUNK_BYTES])
            count += sum(1 for _ in parser.read_events())
            if count > max_elements:
                raise _invalid(f"more than {max_elements} elements")
        root: etree._Element = parser.close()
        count += sum(1 for _ in parser.read_events())
    except (etree.LxmlError, ValueError, UnicodeError) as exc:
        raise _not_well_formed(str(exc).split("\n", 1)[0][:200]) from None
    if count > max_elements:
        raise _invalid(f"more than {max_elements} elements")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or str(getattr(docinfo, "doctype", "")):  # stubs lack it
        raise _not_well_formed("DOCTYPE and other declarations are refused")
    return root


def _param(param: etree._Element) -> XmlRpcValue:
    kids = list(param)
    if param.tag != "param" or len(kids) != 1 or kids[0].tag != "value":
        raise _invalid("<params> must hold <param><value>…</value></param> elements")
    return _value(kids[0], 0)


def _value(el: etree._Element, depth: int) -> XmlRpcValue:
    """One <value>: untyped text is a string, else exactly one typed child."""
    if depth > _MAX_NESTING:
        raise _invalid(f"values nested deeper than {_MAX_NESTING}")
    kids = list(el)
    if not kids:
        return el.text or ""
    if len(kids) > 1 or (el.text or "").strip() or (kids[0].tail or "").strip():
        raise _invalid("<value> must hold text or exactly one typed element")
    typed = kids[0]
    kind = _tag(typed)
    if kind == "array":
        return _array(typed, depth)
    if kind == "struct":
        return _struct(typed, depth)
    if kind == "nil" or typed.tag == "{http://ws.apache.org/xmlrpc/namespaces/extensions}nil":
        if len(typed) or (typed.text or "").strip():
            raise _invalid("<nil/> must be empty")
        return None
    return _scalar(kind, _leaf_text(typed))


def _scalar(kind: str, text: str) -> XmlRpcValue:
    if kind == "string":
        return text
    raw = text.strip()
    if kind in _INT_RANGES:
        limit = _INT_RANGES[kind]
        if not _INT.match(raw) or not -limit <= int(raw) < limit:
            raise _invalid(f"<{kind}> {raw[:40]!r} is not a valid integer")
        return int(raw)
    if kind == "boolean":
        if raw not in ("0", "1"):
            raise _invalid("<boolean> must be 0 or 1")
        return raw == "1"
    if kind == "double":
        if not _DOUBLE.match(raw) or not math.isfinite(float(raw)):
            raise _invalid(f"<double> {raw[:40]!r} is not a valid number")
        return float(raw)
    if kind == "base64":
        try:
            return base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("<base64> is not valid base64") from None
    if kind == "dateTime.iso8601":
        return _datetime(raw)
    raise _invalid(f"unknown value type <{kind}>")


def _datetime(raw: str) -> datetime:
    date, sep, rest = raw[:40].partition("T")
    compact = date.replace("-", "") + sep + rest
    for fmt in ("%Y%m%dT%H:%M:%S", "%Y%m%dT%H%M%S", "%Y%m%dT%H:%M:%S%z", "%Y%m%dT%H%M%S%z"):
        try:
            return datetime.strptime(compact.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
    raise _invalid(f"<dateTime.iso8601> {raw[:40]!r} is not a valid date-time")


def _array(el: etree._Element, depth: int) -> tuple[XmlRpcValue, ...]:
    kids = list(el)
    if len(kids) != 1 or kids[0].tag != "data":
        raise _invalid("<array> must hold exactly one <data>")
    values = list(kids[0])
    if any(v.tag != "value" for v in values):
        raise _invalid("<data> may hold only <value> elements")
    return tuple(_value(v, depth + 1) for v in values)


def _struct(el: etree._Element, depth: int) -> dict[str, XmlRpcValue]:
    result: dict[str, XmlRpcValue] = {}
    for member in el:
        parts = list(member)
        if member.tag != "member" or [p.tag for p in parts] != ["name", "value"]:
            raise _invalid("<struct> members must be <member><name/><value/></member>")
        result[_leaf_text(parts[0])] = _value(parts[1], depth + 1)
    return result


def _leaf_text(el: etree._Element) -> str:
    if len(el):
        raise _invalid(f"<{_tag(el)}> must not hold elements")
    return el.text or ""


def _tag(el: etree._Element) -> str:
    return el.tag if isinstance(el.tag, str) else "?"


def _render(value: XmlRpcValue, out: list[str], depth: int) -> None:
    if depth > _MAX_NESTING:
        raise ValueError("xmlrpc: value nested too deeply to render")
    out.append("<value>")
    if value is None:
        out.append("<nil/>")
    elif isinstance(value, bool):
        out.append(f"<boolean>{int(value)}</boolean>")
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("xmlrpc: integer out of the i8 range")
        tag = "int" if -(2**31) <= value < 2**31 else "i8"
        out.append(f"<{tag}>{value}</{tag}>")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("xmlrpc: doubles must be finite")
        out.append(f"<double>{value!r}</double>")
    elif isinstance(value, str):
        out.append(f"<string>{xml_escape(value)}</string>")
    elif isinstance(value, bytes):
        out.append(f"<base64>{base64.b64encode(value).decode('ascii')}</base64>")
    elif isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        out.append(f"<dateTime.iso8601>{value:%Y%m%dT%H:%M:%S}</dateTime.iso8601>")
    elif isinstance(value, Mapping):
        out.append("<struct>")
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("xmlrpc: struct keys must be strings")
            out.append(f"<member><name>{xml_escape(key)}</name>")
            _render(item, out, depth + 1)
            out.append("</member>")
        out.append("</struct>")
    elif isinstance(value, Sequence):
        out.append("<array><data>")
        for item in value:
            _render(item, out, depth + 1)
        out.append("</data></array>")
    else:
        raise TypeError(f"xmlrpc: cannot render {type(value).__name__}")
    out.append("</value>")


def _document(parts: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(parts) + "\n").encode("utf-8")


def _not_well_formed(detail: str) -> XmlRpcFault:
    return XmlRpcFault(FaultInterop.NOT_WELL_FORMED, f"parse error: not well formed: {detail}")


def _invalid(detail: str) -> XmlRpcFault:
    return XmlRpcFault(FaultInterop.INVALID_REQUEST, f"invalid XML-RPC request: {detail}")
