"""Turning source bytes into text, and text into safe, capped plain text for readers."""

from __future__ import annotations

import codecs
import re
import unicodedata

import charset_normalizer

SNIFF_BYTES = 4096
"""How far into a page a `<meta charset>` is looked for (the HTML spec says 1024)."""
DETECT_BYTES = 65536
"""How much of a page charset detection looks at."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.I)
_LATIN1_ALIASES = {"iso8859-1", "latin-1", "ascii"}
_NOT_HTML = frozenset(
    {
        "utf-7",
        "utf-32",
        "utf-32-le",
        "utf-32-be",
        "idna",
        "punycode",
        "unicode-escape",
        "raw-unicode-escape",
        "mbcs",
        "oem",
        "undefined",
    }
)
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def _codec(name: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown or unsafe."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):
        return None
    if info.name in _LATIN1_ALIASES:
        return "cp1252"  # what browsers mean by ISO-8859-1
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_HTML:
        return None  # base64, rot13...: not text; utf-7 smuggles markup; idna is not a page
    return info.name


def detect_charset(body: bytes, http_charset: str | None) -> str:
    """BOM, then HTTP charset, then `<meta charset>`/http-equiv, then UTF-8, then detection."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    chosen = _codec(http_charset)
    if chosen:
        return chosen
    match = _META_CHARSET.search(body[:SNIFF_BYTES])
    if match:
        chosen = _codec(match.group(1).decode("ascii", "replace"))
        if chosen:
            return "utf-8" if chosen.startswith("utf-16") else chosen  # a lie if we read it
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(body) - 4:  # not merely a character cut off at the cap
            best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
            if best is not None:
                return _codec(best.encoding) or "cp1252"
            return "cp1252"
    return "utf-8"


def decode_body(body: bytes, http_charset: str | None) -> str:
    """Decode a page as a browser would, never failing (bad bytes become U+FFFD)."""
    charset = detect_charset(body, http_charset)
    try:
        text = body.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):  # a codec that refuses "replace"
        text = body.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def plain(text: str, cap: int) -> str:
    """One line of safe plain text: NFC, no controls or bidi tricks, spaces collapsed, capped."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return cap_text(text, cap)


def cap_text(text: str, cap: int) -> str:
    """Cut `text` to at most `cap` characters at a word boundary, marked with "…"."""
    if len(text) <= cap:
        return text
    cut = text[: cap - 1]
    space = cut.rfind(" ")
    if space > cap // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def safe_url(value: object, cap: int = 2000) -> str:
    """An absolute http(s) URL fit to show as a link, or ""."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > cap or not value.lower().startswith(("http://", "https://")):
        return ""
    if _INVISIBLE.search(value) or _WHITESPACE.search(value):
        return ""
    return value
