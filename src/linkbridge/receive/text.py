"""Text rules the wire formats share: charsets we decode, form fields, XML-safe and plain text."""

from __future__ import annotations

import codecs
import html
import re
from urllib.parse import unquote_to_bytes

import nh3

_REFUSED_CODECS = frozenset(
    {
        "utf-7",  # no valid uses; a classic filter-evasion trick
        "unicode-escape",
        "raw-unicode-escape",
        "idna",
        "punycode",
        "undefined",
    }
)
"""Text codecs Python knows that are not character sets a sender may legitimately declare."""

_WINDOWS_1252_LABELS = frozenset({"iso8859-1", "ascii"})
"""Labels that, as in browsers (WHATWG Encoding), mean windows-1252 in practice."""

_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_C0_C1_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE_RUN = re.compile(r"\s+")
_CHARSET_LABEL = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:+-]{0,39}\Z")


class CharsetRefused(ValueError):
    """A declared charset we will not decode; `str()` says why in a sentence."""


def resolve_charset(label: str) -> str:
    """Python's codec name for a charset label, or CharsetRefused (unknown, UTF-7, non-text)."""
    cleaned = label.strip().strip("\"'")
    if not _CHARSET_LABEL.match(cleaned):
        raise CharsetRefused(f"unknown charset {label[:40]!r}")
    try:
        name = codecs.lookup(cleaned).name
    except LookupError:
        raise CharsetRefused(f"unknown charset {cleaned!r}") from None
    if name == "utf-7":
        raise CharsetRefused("UTF-7 is refused")
    if name in _REFUSED_CODECS:
        raise CharsetRefused(f"charset {cleaned!r} is not a character set")
    try:
        b"x".decode(name, "ignore")  # bytes.decode refuses codecs that are not text encodings
    except (LookupError, UnicodeError):
        raise CharsetRefused(f"unknown charset {cleaned!r}") from None
    return name


def decode(data: bytes, codec: str, *, errors: str = "strict") -> str:
    """Decode with a resolved codec; Latin-1 and ASCII labels decode as windows-1252 first."""
    if codec in _WINDOWS_1252_LABELS:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return data.decode(codec, errors)


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 does not allow (controls, lone surrogates)."""
    return _NOT_XML_CHAR.sub("", text)


def xml_escape(text: str) -> str:
    """XML-safe character data: illegal characters removed, markup and CR escaped."""
    escaped = html.escape(xml_safe(text), quote=False)
    return escaped.replace("\r", "&#13;")


def plain_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags (and script/style content) gone, entities decoded,
    control characters removed, whitespace runs collapsed to one space."""
    stripped = html.unescape(nh3.clean(fragment, tags=set()))
    return _WHITESPACE_RUN.sub(" ", _C0_C1_CONTROLS.sub(" ", xml_safe(stripped))).strip()


def single_line(value: str) -> str:
    """A URL-like field: control characters removed and surrounding whitespace stripped."""
    return _C0_C1_CONTROLS.sub("", xml_safe(value)).strip()


def cut(text: str, limit: int, *, more: str = "\u2026") -> str:
    """The first `limit` characters, with `more` appended when something was cut (WordPress)."""
    if len(text) <= limit:
        return text
    return text[:limit] + more


def form_fields(body: bytes) -> dict[str, bytes]:
    """Fields of a form-encoded body as raw bytes (charset decided later); the last one wins."""
    fields: dict[str, bytes] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        key = unquote_to_bytes(name.replace(b"+", b" ")).decode("latin-1")
        fields[key] = unquote_to_bytes(value.replace(b"+", b" "))
    return fields
