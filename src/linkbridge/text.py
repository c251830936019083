"""The one text path: decoding, cleaning, sanitising and cutting, for every protocol and output.

Every piece of text a stranger sends (a pingback source page, a trackback form, a webmention
source, a WordPress export) passes `plain()` before it is stored, and every output (feeds,
pages, the command line) renders what was stored with the functions here. One set of unsafe
characters, one list of refused codecs, one truncation rule.

Stored text is a *fixed point* of HTML reading: reading it as HTML (as RSS readers do with
titles and descriptions) yields the same text, so it shows the same whether an output escapes
it or not. It never contains a tag, an entity reference, a control, bidi or invisible
formatting character, and it is one line in Unicode NFC.
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from collections.abc import Callable

import nh3

# ---------------------------------------------------------------- the unsafe characters

_UNSAFE_RANGES = (
    "\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL (Cc)
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"  # format characters (Cf)
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028\u2029"  # line and paragraph separators (Zl, Zp)
    "\u202a-\u202e"  # bidi embeddings and overrides (U+202E turns "gpj.exe" around)
    "\u2060-\u2064\u2066-\u206f"  # word joiner, invisible operators, bidi isolates
    "\ud800-\udfff"  # lone surrogates (Cs)
    "\ufeff\ufff9-\ufffb\ufffe\uffff"  # BOM, interlinear annotations, non-characters
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"  # language tags
)
UNSAFE = re.compile(f"[{_UNSAFE_RANGES}]")
"""Characters no stored text, URL or terminal line may carry as they are: every control (Cc),
format (Cf: bidi overrides, zero-width), surrogate (Cs) and line/paragraph separator (Zl, Zp)
character, and the non-characters U+FFFE/U+FFFF. Text loses them; URLs carrying them are
refused; the command line prints them escaped. A test checks this against `unicodedata`."""

_WHITESPACE = re.compile(r"\s+")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Controls (Cc) separate words when text is cleaned; the rest of UNSAFE is removed."""
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 does not allow (its Char production's complement), spelt as the few ranges
left out: the negated class of the allowed ranges took 5 ms of start-up to compile."""

# ---------------------------------------------------------------- decoding

REFUSED_CODECS = frozenset(
    {
        "utf-7",  # no valid uses; smuggles markup past filters
        "utf-32",
        "utf-32-le",
        "utf-32-be",
        "unicode-escape",
        "raw-unicode-escape",
        "idna",
        "punycode",
        "mbcs",
        "oem",
        "undefined",
    }
)
"""Codecs Python knows that a sender may not declare: not character sets of the web."""

_WINDOWS_1252_LABELS = frozenset({"iso8859-1", "latin-1", "ascii"})
"""Labels that, as in browsers (WHATWG Encoding), mean windows-1252."""
_CHARSET_LABEL = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:+-]{0,39}\Z")

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


class CharsetRefused(ValueError):
    """A declared charset we will not decode; `str()` says why in a sentence."""


def resolve_charset(label: str) -> str:
    """The codec a charset label names (Latin-1 and ASCII mean windows-1252), or
    CharsetRefused: unknown, a refused codec (UTF-7...), or not a text encoding (base64...)."""
    cleaned = label.strip().strip("\"'")
    if not _CHARSET_LABEL.match(cleaned):
        raise CharsetRefused(f"unknown charset {label[:40]!r}")
    try:
        info = codecs.lookup(cleaned)
    except LookupError:
        raise CharsetRefused(f"unknown charset {cleaned!r}") from None
    if info.name == "utf-7":
        raise CharsetRefused("UTF-7 is refused")
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13...
        raise CharsetRefused(f"unknown charset {cleaned!r}")
    if info.name in REFUSED_CODECS:
        raise CharsetRefused(f"charset {cleaned!r} is not a character set")
    return "cp1252" if info.name in _WINDOWS_1252_LABELS else info.name


def charset_or_none(label: str | None) -> str | None:
    """`resolve_charset`, or None for a missing or refused label."""
    if not label:
        return None
    try:
        return resolve_charset(label)
    except CharsetRefused:
        return None


def decode(data: bytes, codec: str, *, errors: str = "strict") -> str:
    """Decode with a resolved codec; windows-1252 falls back to Latin-1 for its 5 holes."""
    if codec == "cp1252":
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return data.decode(codec, errors)


def detect_charset(body: bytes, http_charset: str | None) -> str:
    """A page's charset: BOM, HTTP charset, `<meta charset>`, UTF-8, then detection."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    chosen = charset_or_none(http_charset)
    if chosen:
        return chosen
    match = _META_CHARSET.search(body[:SNIFF_BYTES])
    if match:
        chosen = charset_or_none(match.group(1).decode("ascii", "replace"))
        if chosen:
            return "utf-8" if chosen.startswith("utf-16") else chosen  # a lie if we read it
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(body) - 4:  # not merely a character cut off at the cap
            import charset_normalizer  # here: rarely needed, and slow to load at start-up

            best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
            return (charset_or_none(best.encoding) if best else None) or "cp1252"
    return "utf-8"


def decode_page(body: bytes, http_charset: str | None) -> str:
    """Decode a fetched page as a browser would, never failing (bad bytes become U+FFFD)."""
    charset = detect_charset(body, http_charset)
    try:
        text = decode(body, charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):  # a codec that refuses "replace"
        text = body.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


# ---------------------------------------------------------------- cleaning and cutting

_HTML_PASSES = 4
"""Each pass peels one layer of escaping; text still changing after this is hostile."""
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:p|br|div|li|h[1-6]|blockquote|tr|td|th|figure|figcaption|img|hr|dd|dt)\b)", re.I
)
"""Block boundaries become spaces, as a reader sees them ("<p>Ett</p><p>Två</p>")."""
ELLIPSIS = "…"


def clean(text: str) -> str:
    """One line of safe text: NFC, controls and whitespace runs (line breaks too) one space,
    every other unsafe character removed, ends stripped. Does not touch markup: see `plain`."""
    text = _CONTROLS.sub(" ", unicodedata.normalize("NFC", text))
    return " ".join(UNSAFE.sub("", text).split())


def text_of_html(fragment: str) -> str:
    """The text of an HTML fragment (or of text that may hold markup): tags gone, script and
    style contents gone, entities decoded, until reading the result as HTML changes nothing."""
    text = _BLOCK_TAG.sub(" <", fragment) if "<" in fragment else fragment
    for _ in range(_HTML_PASSES):
        if "<" not in text and "&" not in text:
            return text
        peeled = html.unescape(nh3.clean(text, tags=set()))
        if peeled == text:
            return text
        text = peeled
    return text.replace("<", "").replace(">", "").replace("&", "")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters: cut at a word boundary (when one is past half) and marked
    with "…". The one truncation rule for every stored and shown field."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


_BROKEN_TAIL = re.compile("\ufffd+(?=\\s*(?:…|\\.\\.\\.)?\\s*$)")


def without_broken_tail(text: str) -> str:
    """Drop replacement characters left where a sender cut its text inside a multi-byte
    character, just before the closing ellipsis (WordPress's `trackback_url_list()` sends
    "…åäö\\xc3&hellip;", which decodes to "…åäö\ufffd…")."""
    return _BROKEN_TAIL.sub("", text)


def plain(text: str, limit: int | None = None) -> str:
    """Text from anywhere as it is stored: HTML read as text, cleaned, then cut to `limit`."""
    text = clean(text_of_html(clean(text)))
    return text if limit is None else cut(text, limit)


# ---------------------------------------------------------------- URLs at intake


def url_is_clean(value: str) -> bool:
    """True when a URL carries no whitespace and no unsafe character (refused at intake)."""
    return not (UNSAFE.search(value) or _WHITESPACE.search(value))


# ---------------------------------------------------------------- output


def html_text(text: str) -> str:
    """Stored text as an HTML fragment: escaped, in one paragraph (never read as markup)."""
    return f"<p>{html.escape(text, quote=False)}</p>" if text else ""


def sanitise_html(
    fragment: str, *, attribute_filter: Callable[[str, str, str], str | None] | None = None
) -> str:
    """Markup from a stranger through nh3's allowlist: the only HTML ever emitted as HTML."""
    return nh3.clean(xml_safe(fragment), attribute_filter=attribute_filter)


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 does not allow (controls, lone surrogates)."""
    return _NOT_XML_CHAR.sub("", text)


def xml_escape(text: str) -> str:
    """XML character data: illegal characters removed, markup and CR escaped."""
    return html.escape(xml_safe(text), quote=False).replace("\r", "&#13;")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_UNSAFE_IN_LINES = re.compile(f"(?!\r\n)(?!\n)[{_UNSAFE_RANGES}]")
_UNSAFE_ON_PAGE = re.compile(f"(?![\t\n\r])[{_UNSAFE_RANGES}]")


def for_page(text: str) -> str:
    """Text for an HTML page (escaped as HTML after this): every unsafe character but tab and
    line breaks (which HTML shows as spaces) as a visible escape such as `\\u202e`, as the
    command line prints it. Rows stored before text was cleaned at intake may still carry a
    bidi override; on the page it shows what it is instead of turning the line around."""
    return _UNSAFE_ON_PAGE.sub(_escaped, text)


def for_terminal_lines(text: str) -> str:
    """Output for a terminal that keeps its line breaks (LF, CRLF) and escapes the rest."""
    return _UNSAFE_IN_LINES.sub(_escaped, text)


def for_json(text: str) -> str:
    """JSON text with every unsafe character inside its strings as a \\uXXXX escape (the same
    string to a JSON reader, nothing raw for a terminal); line breaks between values stay."""

    def escaped(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code < 0x10000:
            return f"\\u{code:04x}"
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return _UNSAFE_IN_LINES.sub(escaped, text)


def for_terminal(value: object) -> str:
    """A value for a terminal line: every unsafe character (CR, LF, ESC, C1 controls, bidi
    overrides...) printed as a visible escape such as `\\x9b` or `\\u202e`."""
    return UNSAFE.sub(_escaped, str(value))
