"""TrackBack 1.2 wire format: the form-encoded ping in any declared charset, and the XML answer."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

from linkbridge.errors import BadRequest
from linkbridge.receive.form import form_fields
from linkbridge.text import (
    CharsetRefused,
    decode,
    plain,
    resolve_charset,
    url_is_clean,
    without_broken_tail,
    xml_escape,
)

TITLE_MAX_CHARS = 250
EXCERPT_MAX_CHARS = 252
BLOG_NAME_MAX_CHARS = 250
"""Longer text is cut to this many characters, the last one "…" (the one rule in text.cut)."""

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_DETECTION_CANDIDATES = ["utf_8", "cp1252", "iso8859_15", "euc_jp", "shift_jis", "iso2022_jp"]
"""What an undeclared ping is tried as: WordPress's list, with windows-1252 for Latin-1."""

_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


class TrackbackError(BadRequest):
    """A ping we refuse; `detail` is the sentence for the `<message>` element."""

    reason = "trackback_refused"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(f"trackback: {detail}", reason=reason)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TrackbackPing:
    """A decoded ping: plain text, cut to the limits; `charset` is the codec used."""

    url: str
    title: str
    excerpt: str
    blog_name: str
    charset: str


def parse_trackback(body: bytes, content_type: str | None, *, max_body_bytes: int) -> TrackbackPing:
    """Parse a TrackBack POST body; refusals raise TrackbackError."""
    if len(body) > max_body_bytes:
        raise TrackbackError(
            f"body larger than {max_body_bytes} bytes", reason="trackback_body_too_large"
        )
    media_type, declared = _media_type(content_type)
    if media_type != FORM_MEDIA_TYPE:
        raise TrackbackError(f"body must be {FORM_MEDIA_TYPE}", reason="trackback_not_form_encoded")
    raw = form_fields(body)  # the last of repeated fields wins, as in PHP
    labels = declared or raw.get("charset", b"").decode("latin-1")
    charset = _choose_charset(labels, raw)
    values = {name: decode(value, charset, errors="replace") for name, value in raw.items()}
    url = values.get("url", "").strip()
    if not url:
        raise TrackbackError("missing url", reason="trackback_missing_url")
    if not url_is_clean(url):
        raise TrackbackError(
            "url contains whitespace or control characters", reason="trackback_bad_url"
        )
    return TrackbackPing(
        url=url,
        title=without_broken_tail(plain(values.get("title", ""), TITLE_MAX_CHARS)),
        excerpt=without_broken_tail(plain(values.get("excerpt", ""), EXCERPT_MAX_CHARS)),
        blog_name=without_broken_tail(plain(values.get("blog_name", ""), BLOG_NAME_MAX_CHARS)),
        charset=charset,
    )


def render_trackback_ok() -> bytes:
    """The success answer, starting at byte 0 with the XML declaration."""
    return (_XML_DECLARATION + "<response>\n<error>0</error>\n</response>\n").encode("utf-8")


def render_trackback_error(message: str) -> bytes:
    """The error answer with `message` escaped (characters XML forbids removed)."""
    text = (
        _XML_DECLARATION
        + "<response>\n<error>1</error>\n"
        + f"<message>{xml_escape(message)}</message>\n</response>\n"
    )
    return text.encode("utf-8")


def _media_type(content_type: str | None) -> tuple[str, str]:
    """(lower-case media type, charset parameter or "") parsed as a MIME header."""
    if not content_type or not content_type.strip():
        return "", ""
    header = Message()
    try:
        header["Content-Type"] = content_type
        charset = header.get_param("charset")
    except (ValueError, TypeError, LookupError):
        return "", ""
    if isinstance(charset, str | tuple):
        return header.get_content_type(), str(collapse_rfc2231_value(charset))
    return header.get_content_type(), ""


def _choose_charset(labels: str, raw: dict[str, bytes]) -> str:
    """The declared charset (a comma list tries each in turn), else UTF-8, else detection."""
    text_values = [raw.get(name, b"") for name in ("title", "excerpt", "blog_name", "url")]
    try:
        candidates = [resolve_charset(c) for c in labels.split(",") if c.strip()]
    except CharsetRefused as exc:
        raise TrackbackError(str(exc), reason="trackback_bad_charset") from None
    if candidates:  # a declared list (not merely ",")
        for codec in candidates:
            if _decodes(text_values, codec):
                return codec
        return candidates[0]
    if _decodes(text_values, "utf-8"):
        return "utf-8"
    import charset_normalizer  # here: only an undeclared non-UTF-8 ping needs it (slow to load)

    best = charset_normalizer.from_bytes(
        b"\n".join(text_values), cp_isolation=_DETECTION_CANDIDATES
    ).best()
    return best.encoding if best is not None else "cp1252"


def _decodes(values: list[bytes], codec: str) -> bool:
    try:
        for value in values:
            value.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
