"""The typed answer of one verification, as the outcomes table of DESIGN.md names them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
class SourceFields:
    """What a reader will see of the source: plain text, sanitised, length-capped."""

    final_url: str
    title: str = ""
    excerpt: str = ""
    author_name: str = ""
    author_url: str = ""
    author_photo: str = ""
    published_at: datetime | None = None
    content: str = ""
    mention_type: MentionType = MentionType.MENTION

    def to_details(self) -> SourceDetails:
        """The store's record of these fields."""
        return SourceDetails(
            title=self.title,
            excerpt=self.excerpt,
            author_name=self.author_name,
            author_url=self.author_url,
            author_photo=self.author_photo,
            published_at=self.published_at,
            content=self.content,
            mention_type=str(self.mention_type),
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

    @property
    def is_definite(self) -> bool:
        """True unless retrying later might change the answer."""
        return self.kind is not OutcomeKind.TRANSIENT
