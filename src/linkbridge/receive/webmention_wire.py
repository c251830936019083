"""Webmention wire format: the synchronous request checks of the W3C receiver rules."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from urllib.parse import SplitResult, urlsplit

from linkbridge.errors import BadRequest
from linkbridge.receive.form import form_fields

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class WebmentionError(BadRequest):
    """A request refused with 400; `detail` is the short reason sent back."""

    reason = "webmention_refused"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(f"webmention: {detail}", reason=reason)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WebmentionRequest:
    """The two URLs as sent (whitespace stripped); resolving the target is the caller's job."""

    source: str
    target: str


def parse_webmention(
    body: bytes, content_type: str | None, *, max_body_bytes: int
) -> WebmentionRequest:
    """Check a Webmention POST body; refusals raise WebmentionError."""
    if len(body) > max_body_bytes:
        raise WebmentionError(
            f"body larger than {max_body_bytes} bytes", reason="webmention_body_too_large"
        )
    if _media_type(content_type) != FORM_MEDIA_TYPE:
        raise WebmentionError(
            f"body must be {FORM_MEDIA_TYPE}", reason="webmention_not_form_encoded"
        )
    fields = form_fields(body)
    source, source_parts = _url_field(fields, "source")
    target, target_parts = _url_field(fields, "target")
    if _same_document(source_parts, target_parts):
        raise WebmentionError(
            "source and target are the same URL", reason="webmention_source_is_target"
        )
    return WebmentionRequest(source=source, target=target)


def _media_type(content_type: str | None) -> str:
    if not content_type or not content_type.strip():
        return ""
    header = Message()
    try:
        header["Content-Type"] = content_type
        return header.get_content_type()
    except (ValueError, TypeError, LookupError):
        return ""


def _url_field(fields: dict[str, bytes], name: str) -> tuple[str, SplitResult]:
    """The field as text and split, or WebmentionError (missing, not an http(s) URL)."""
    raw = fields.get(name, b"").strip()
    if not raw:
        raise WebmentionError(f"missing {name}", reason=f"webmention_missing_{name}")
    not_http = WebmentionError(f"{name} is not an http(s) URL", reason="webmention_not_http_url")
    try:
        text = raw.decode("utf-8")
        parts = urlsplit(text)
        port = parts.port
    except (UnicodeDecodeError, ValueError):
        raise not_http from None
    if (
        port == 0
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)
    ):
        raise not_http
    return text, parts


def _same_document(source: SplitResult, target: SplitResult) -> bool:
    """Equal after folding scheme/host case, default ports, an empty path and fragments."""
    return _document_key(source) == _document_key(target)


def _document_key(url: SplitResult) -> tuple[str, str, int, str, str]:
    scheme = url.scheme.lower()
    port = url.port or (443 if scheme == "https" else 80)
    return scheme, (url.hostname or "").rstrip("."), port, url.path or "/", url.query
