"""Errors that carry an HTTP status and a stable reason; one middleware renders them."""

from __future__ import annotations


class LinkbridgeError(Exception):
    """Base error: `status` for the web layer, `reason` a stable snake_case code."""

    status: int = 500
    reason: str = "internal_error"

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if status is not None:
            self.status = status


class ConfigError(LinkbridgeError):
    """The configuration is wrong; the message names the key."""

    reason = "bad_config"


class BadRequest(LinkbridgeError):
    """The request cannot be understood (undecodable URL, malformed body)."""

    status = 400
    reason = "bad_request"


class UndecodableURL(BadRequest):
    """A URL whose percent-escapes do not decode as UTF-8 or that is otherwise unusable."""

    reason = "undecodable_url"


class NotFound(LinkbridgeError):
    """No such thing."""

    status = 404
    reason = "not_found"


class RejectedImport(LinkbridgeError):
    """An import (WXR, CSV) was refused as a whole; the message says where it broke."""

    reason = "import_failed"


class IllegalTransition(LinkbridgeError):
    """A linkback state change the state machine does not allow."""

    status = 409
    reason = "illegal_transition"


class LimitReached(LinkbridgeError):
    """A limit checked in the transaction that would accept a linkback said no; `reason`
    names it ("rate_limited" or "daily_cap", as the Refusal values)."""

    status = 429
    reason = "rate_limited"


class AlreadyDecided(IllegalTransition):
    """The row left the state the caller read: another process or instance decided first."""

    reason = "already_decided"



class StoreMissing(LinkbridgeError):
    """A command that only reads or edits an existing store found none where it looked."""

    reason = "store_missing"

    def __init__(self, path: str) -> None:
        super().__init__(f"no store at {path}")
        self.path = path
