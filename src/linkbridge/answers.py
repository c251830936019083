"""What the intake answers; each receiver turns it into its own wire format."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from linkbridge.model import Linkback


class Refusal(StrEnum):
    """Why a linkback was refused before anything was stored."""

    TARGET_FOREIGN = "target_foreign"
    TARGET_NOT_POST = "target_not_post"
    TARGET_UNKNOWN = "target_unknown"
    TARGET_TOMBSTONE = "target_tombstone"
    PINGS_CLOSED = "pings_closed"
    AFTER_SHUTDOWN = "after_shutdown"
    SAME_POST = "same_post"
    BAD_SOURCE = "bad_source"
    URL_TOO_LONG = "url_too_long"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"
    DAILY_CAP = "daily_cap"


class Answer(StrEnum):
    """What the intake did with a linkback."""

    REFUSED = "refused"
    QUEUED = "queued"
    VERIFIED = "verified"
    DUPLICATE = "duplicate"
    NO_LINK = "no_link"
    MISSING = "missing"
    GONE = "gone"
    POLICY = "policy"


@dataclass(frozen=True)
class IntakeResult:
    """The answer a receiver turns into its wire format."""

    answer: Answer
    refusal: Refusal | None = None
    linkback: Linkback | None = None
    message: str = ""
    successor: str = ""
    retry_after_s: int | None = None
    """With a rate refusal: seconds until the sender may try again."""
    created: bool = False
    """This request stored a new row (a webmention answers 201, an update 202)."""
