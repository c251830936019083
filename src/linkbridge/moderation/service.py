"""The one moderation service: linkback decisions, host lists and redirect edits, recorded.

Every door (the `linkbridge moderate` and `redirects` commands, the admin page) parses its
input, calls one method here, and renders what comes back; so a decision is checked, applied,
recorded (who, when, before, after, why) and logged the same way whichever door it came
through. `on_change` lets a running server refresh its live state at once; a CLI leaves it
unset (servers notice the store's version within `store.poll_interval_s`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from linkbridge.clock import Clock
from linkbridge.errors import BadRequest, IllegalTransition, LinkbridgeError, NotFound
from linkbridge.model import (
    RESTORABLE_STATES,
    Change,
    ChangeNote,
    Erasure,
    Linkback,
    LinkbackState,
    Mapping,
)
from linkbridge.moderation.rules import block_entry, spam_block_entry
from linkbridge.retire.table import BadRuleError, TargetPolicy, canonical_source
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser

logger = structlog.get_logger(__name__)

OnChange = Callable[[], Awaitable[None]]
LISTS = ("block", "allow")
MAX_REASON_CHARS = 500


class Verdict(StrEnum):
    """What a moderator decides about a linkback, and the state it moves to."""

    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"
    RESTORE = "restore"
    """Bring back a deleted, rejected or spam linkback: approved again."""

    @property
    def state(self) -> LinkbackState:
        return _STATES[self]


_STATES = {
    Verdict.APPROVE: LinkbackState.APPROVED,
    Verdict.REJECT: LinkbackState.REJECTED,
    Verdict.SPAM: LinkbackState.SPAM,
    Verdict.RESTORE: LinkbackState.APPROVED,
}
_MAPPING_EVENTS = {"map": "mapping_saved", "unmap": "mapping_deleted",
                   "import": "mappings_imported"}
BLOCK_SCOPES = ("host", "domain")
"""`spam` may also block the source's host, or its registrable domain (an IP: its /64)."""


@dataclass(frozen=True)
class Outcome:
    """One linkback's result in a (bulk) decision: the row after it, or why it failed."""

    linkback_id: int
    linkback: Linkback | None = None
    error: str = ""
    status: int = 200
    """The error's HTTP status (404 no such linkback, 409 a move the state machine refuses)."""
    blocked: str = ""
    """The host list entry added with a spam decision, if any."""

    @property
    def ok(self) -> bool:
        return self.linkback is not None


@dataclass(frozen=True)
class HostEdit:
    """A host list edit: the normalised entry, and the recorded change (None: no change)."""

    entry: str
    list_name: str
    change: Change | None


@dataclass
class ImportPlan:
    """What an import would do to the stored table (a preview changes nothing)."""

    added: list[Mapping] = field(default_factory=list)
    changed: list[tuple[Mapping, Mapping]] = field(default_factory=list)
    """(stored, imported) pairs whose target or note differ."""
    removed: list[Mapping] = field(default_factory=list)
    """Only with `replace`: stored rows the file does not name."""
    unchanged: int = 0

    def summary(self) -> str:
        """"2 added, 1 changed, 0 removed, 4 unchanged"."""
        return (f"{len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {self.unchanged} unchanged")


def _reason(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_REASON_CHARS:
        raise BadRequest(f"moderation: the reason is longer than {MAX_REASON_CHARS} characters")
    return text


def _actor(by: str) -> str:
    by = by.strip()
    if not by:
        raise BadRequest("moderation: every change needs the moderator's name")
    return by[:200]


class Moderation:
    """Linkback decisions, host lists and redirect edits for every door, each recorded."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        *,
        canonicaliser: Canonicaliser | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.canonicaliser = canonicaliser or Canonicaliser.for_settings(settings.site)
        self.on_change = on_change
        self.policy = TargetPolicy.from_settings(settings)

    async def _changed(self) -> None:
        if self.on_change is not None:
            await self.on_change()

    def _note(self, action: str, by: str, reason: str) -> ChangeNote:
        return ChangeNote(action, _actor(by), _reason(reason), self.clock.now())

    # ------------------------------------------------------------ linkbacks
    async def decide(
        self,
        ids: Iterable[int],
        verdict: Verdict,
        *,
        by: str,
        reason: str = "",
        block: str | None = None,
    ) -> list[Outcome]:
        """Approve, reject or mark spam each linkback (a bulk action is several ids); with
        `block` ("host"/"domain", spam only) also block each source. One failing id does not
        stop the others: its Outcome says why."""
        if block is not None and (verdict is not Verdict.SPAM or block not in BLOCK_SCOPES):
            raise BadRequest(f"moderation: --block {block!r} goes only with spam (host, domain)")
        note = self._note(verdict.value, by, reason)
        outcomes: list[Outcome] = []
        for linkback_id in dict.fromkeys(ids):
            try:
                if verdict is Verdict.RESTORE:
                    await self._restorable(linkback_id)
                lb = await self.store.set_state(
                    linkback_id, verdict.state, actor=note.actor, reason=note.reason, now=note.at
                )
            except LinkbridgeError as exc:
                outcomes.append(Outcome(linkback_id, error=exc.message, status=exc.status))
                continue
            logger.info(f"linkback_{verdict.state.value}", linkback_id=lb.id, actor=note.actor,
                        reason=note.reason)
            blocked = ""
            if block is not None:
                blocked = spam_block_entry(lb.source_host, block)
                why = f"spam #{lb.id}" + (f": {note.reason}" if note.reason else "")
                await self._edit_host(blocked, "block", True, ChangeNote("block", note.actor,
                                                                         why, note.at))
            outcomes.append(Outcome(linkback_id, lb, blocked=blocked))
        if any(o.ok for o in outcomes):
            await self._changed()
        return outcomes

    async def _restorable(self, linkback_id: int) -> None:
        """Only what was verified and then taken away can be restored (a failed row never
        verified: there is nothing to bring back)."""
        lb = await self.store.get_linkback(linkback_id)
        if lb is None:
            raise NotFound(f"moderation: no linkback {linkback_id}")
        if lb.state not in RESTORABLE_STATES:
            raise IllegalTransition(
                f"moderation: only a deleted, rejected or spam linkback can be restored "
                f"(#{lb.id} is {lb.state.value})"
            )

    # ------------------------------------------------------------ host lists
    async def set_host(
        self, text: str, list_name: str, *, present: bool, by: str, reason: str = ""
    ) -> HostEdit:
        """Block/allow (`present`) or unblock/unallow a host, URL's host, IP or network."""
        if list_name not in LISTS:
            raise BadRequest(f"moderation: no host list {list_name[:20]!r}")
        entry = block_entry(text)
        action = list_name if present else f"un{list_name}"
        change = await self._edit_host(entry, list_name, present, self._note(action, by, reason))
        if change is not None:
            await self._changed()
        return HostEdit(entry, list_name, change)

    async def _edit_host(
        self, entry: str, list_name: str, present: bool, note: ChangeNote
    ) -> Change | None:
        change = await self.store.edit_host(entry, list_name, present=present, note=note)
        if change is not None:
            event = "host_blocked" if note.action == "block" else f"host_{note.action}ed"
            logger.info(event, host=entry, actor=note.actor, reason=note.reason)
        return change

    # ------------------------------------------------------------ redirect table
    def source_key(self, old: str) -> str:
        """An old path, URL or "/prefix/*" as the table's key; BadRequest when unusable."""
        try:
            return canonical_source(old, self.canonicaliser)
        except BadRuleError as exc:
            raise BadRequest(f"redirects: {exc}") from None

    def checked_mapping(self, old: str, new: str, note: str = "") -> Mapping:
        """A mapping whose source and target pass the same checks as a CSV import row."""
        try:
            target = self.policy.check_target(new)
        except BadRuleError as exc:
            raise BadRequest(f"redirects: {exc}") from None
        return Mapping(self.source_key(old), target, origin="store", note=note.strip()[:500])

    async def map(
        self, old: str, new: str, *, by: str, note: str = "", reason: str = ""
    ) -> Change | None:
        """Map one old path (or prefix) to a URL, "web", "social", "gone" or "" (unresolved)."""
        return await self.put_mappings([self.checked_mapping(old, new, note)], by=by,
                                       reason=reason, action="map")

    async def put_mappings(
        self, mappings: Sequence[Mapping], *, by: str, reason: str = "", action: str = "map"
    ) -> Change | None:
        """Store already checked mappings (the admin's "map to" forms); the first change."""
        changes = await self._edit_mappings(mappings, [], self._note(action, by, reason))
        return changes[0] if changes else None

    async def unmap(self, old: str, *, by: str, reason: str = "") -> Change | None:
        """Remove one stored mapping; None when there was none."""
        changes = await self._edit_mappings([], [self.source_key(old)],
                                            self._note("unmap", by, reason))
        return changes[0] if changes else None

    async def plan_import(self, mappings: Sequence[Mapping], *, replace: bool = False) -> (
        ImportPlan
    ):
        """What importing these checked mappings would add, change and (replace) remove."""
        stored = {m.source: m for m in await self.store.list_mappings()}
        plan = ImportPlan()
        for m in mappings:
            old = stored.get(m.source)
            if old is None:
                plan.added.append(m)
            elif (old.target, old.note) != (m.target, m.note):
                plan.changed.append((old, m))
            else:
                plan.unchanged += 1
        if replace:
            named = {m.source for m in mappings}
            plan.removed.extend(m for source, m in stored.items() if source not in named)
        return plan

    async def import_mappings(
        self,
        mappings: Sequence[Mapping],
        *,
        by: str,
        reason: str = "",
        replace: bool = False,
    ) -> list[Change]:
        """Store checked mappings (a CSV file's rows); `replace` also removes stored rows the
        file does not name. One commit; one recorded change per row that changed."""
        remove: list[str] = []
        if replace:
            named = {m.source for m in mappings}
            remove = [m.source for m in await self.store.list_mappings() if m.source not in named]
        return await self._edit_mappings(mappings, remove, self._note("import", by, reason))

    async def _edit_mappings(
        self, put: Sequence[Mapping], remove: Sequence[str], note: ChangeNote
    ) -> list[Change]:
        changes = await self.store.edit_mappings(put, remove, note)
        if changes:
            event = _MAPPING_EVENTS.get(note.action, f"mappings_{note.action}")
            logger.info(event, count=len(changes), actor=note.actor,
                        sources=[c.key for c in changes[:20]])
            await self._changed()
        return changes

    # ------------------------------------------------------------ personal data
    async def erase(self, erasure: Erasure, *, by: str, reason: str = "") -> int:
        """Erase a person's linkbacks on request; recorded without the erased data."""
        if erasure.empty:
            raise BadRequest("moderation: name a source URL, a host or an author to erase")
        count = await self.store.erase_linkbacks(erasure, self._note("erase", by, reason))
        logger.info("linkbacks_erased", count=count, actor=by)
        if count:
            await self._changed()
        return count

    # ------------------------------------------------------------ history
    async def history(
        self, path: str | None = None, *, subject: str | None = None, limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        """Recorded changes, newest first: all, one subject's, or one redirect path's."""
        if path is not None:
            return await self.store.history(subject="mapping", key=self.source_key(path),
                                            limit=limit, offset=offset)
        return await self.store.history(subject=subject, limit=limit, offset=offset)
