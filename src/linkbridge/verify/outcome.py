"""The typed answer of one verification, as the outcomes table names them.

The table is in docs/architecture.md, "Verification outcomes and answers".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from linkbridge.model import SourceDetails


class OutcomeKind(StrEnum):
    """What a verification concluded; the protocols map each kind to their answer."""

    VERIFIED = "verified"
    """The source answered 2xx and links to the target."""
    NO_LINK = "no_link"
    """The source answered 2xx but the part read has no link to the target."""
    MISSING = "missing"
    """4xx (but 410/429), redirect past the hop limit, NXDOMAIN, unusable redirect."""
    GONE = "gone"
    """410, or `<meta http-equiv="Status" content="410">`."""
    REFUSED = "refused"
    """The address policy refused the URL or an address it resolved to."""
    TRANSIENT = "transient"
    """Timeout, 5xx, 429, connection error, rate cap: worth retrying later."""


class MentionType(StrEnum):
    """How the source refers to the target (microformats2 property names)."""

    REPLY = "in-reply-to"
    LIKE = "like-of"
    REPOST = "repost-of"
    BOOKMARK = "bookmark-of"
    MENTION = "mention"


@dataclass(frozen=True)
class SourceFields(SourceDetails):
    """What a reader will see of the source (plain text, sanitised, length-capped), and the
    URL the fetch ended at. `mention_type` holds a MentionType value."""

    mention_type: str = MentionType.MENTION
    final_url: str = ""

    def to_details(self) -> SourceDetails:
        """The store's record of these fields (without the fetch's final URL)."""
        return SourceDetails(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(SourceDetails)}
        )


@dataclass(frozen=True)
class VerifyOutcome:
    """One verification's conclusion, with a reason a moderator can read."""

    kind: OutcomeKind
    reason: str
    fields: SourceFields | None = None
    """Set when `kind` is verified."""
    status: int | None = None
    """The source's final HTTP status, when it answered."""
    truncated: bool = False
    """The body was cut off at `max_bytes`: only the part read was checked."""

    @property
    def is_evidence_of_removal(self) -> bool:
        """Positive evidence that the source no longer mentions the target: 410, meta 410, or
        a page read whole without the link. DNS and connection failures, timeouts, 404, 5xx
        and a truncated page are not: they never delete what is shown."""
        if self.kind is OutcomeKind.GONE:
            return True
        return self.kind is OutcomeKind.NO_LINK and not self.truncated

