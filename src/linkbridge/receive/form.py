"""Form-encoded bodies as raw bytes per field; which charset decodes them is decided later."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes


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
