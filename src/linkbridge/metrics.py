"""What the service counts for Prometheus: plain integers where requests pass, families made only
when /metrics is scraped.

A prometheus_client Counter takes a lock on every `inc()`; on the feed path that is a measurable
share of a request's cost, so request paths add to dicts here instead, and a custom collector
turns them into counter families at scrape time. The fetch-duration histogram is a real
prometheus_client Histogram: fetches are rare and slow, its lock costs nothing there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # only names for annotations: the metrics module sits below the intake
    from linkbridge.answers import IntakeResult
    from linkbridge.intake import Incoming, Intake
    from linkbridge.verify import SafeFetcher

_K = TypeVar("_K")
FETCH_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
"""Source fetch durations: WordPress's pingback client gives up at 3 s."""


@dataclass
class ScrapeFacts:
    """What only an await can learn (the store), gathered by the handler just before a scrape."""

    queue_depth: int = 0
    oldest_job_age_s: float = 0.0
    snapshot_version: int = 0
    snapshot_age_s: float = 0.0
    hits_flush_lag_s: float = 0.0


@dataclass
class Metrics:
    """The service's counters. Request paths only add to these dicts."""

    linkbacks: dict[tuple[str, str], int] = field(default_factory=dict)
    """(protocol, outcome) -> linkbacks received; outcome is the intake's answer or refusal."""
    verifications: dict[str, int] = field(default_factory=dict)
    """Verification outcome kind -> count."""
    feed_responses: dict[int, int] = field(default_factory=dict)
    """HTTP status of feed answers (200, 304, ...) -> count."""
    feed_builds: int = 0
    """Feed representations built from the store (cache misses that queried it)."""
    retired: dict[tuple[int, str], int] = field(default_factory=dict)
    """(status, rule) of retired URLs answered, added at each hit flush."""
    store_errors: int = 0
    hits_flushed_at: float = field(default_factory=time.monotonic)
    """time.monotonic() of the last hit flush (start-up counts as one)."""
    facts: ScrapeFacts = field(default_factory=ScrapeFacts)
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=False)
    )

    def __post_init__(self) -> None:
        self.fetch_seconds = Histogram(
            "linkbridge_source_fetch_seconds",
            "Time to fetch a linkback's source page (all redirects), s.",
            buckets=FETCH_BUCKETS_S,
            registry=self.registry,
        )
        self.registry.register(_Families(self))


STORE_ERROR_MODULES = frozenset({"sqlite3", "asyncpg"})


def is_store_error(exc: BaseException) -> bool:
    """An error raised by a store's database driver (either backend)."""
    return type(exc).__module__.partition(".")[0] in STORE_ERROR_MODULES


def observe(metrics: Metrics, intake: Intake, fetcher: SafeFetcher) -> None:
    """Hook the counters into the intake (answers), its settler (verification outcomes) and the
    fetcher (durations)."""

    def received(incoming: Incoming, result: IntakeResult) -> None:
        outcome = result.refusal.value if result.refusal is not None else result.answer.value
        bump(metrics.linkbacks, (incoming.protocol.value, outcome))

    def verified(kind: str) -> None:
        bump(metrics.verifications, kind)

    intake.on_result = received
    intake.settler.on_outcome = verified
    fetcher.on_fetched = metrics.fetch_seconds.observe


def bump(counts: dict[_K, int], key: _K, n: int = 1) -> None:
    """Add `n` to `counts[key]`."""
    counts[key] = counts.get(key, 0) + n


class _Families(Collector):
    """Turns the Metrics dicts and the last ScrapeFacts into Prometheus families."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        received = CounterMetricFamily(
            "linkbridge_linkbacks_received", "Linkbacks received, by protocol and outcome.",
            labels=["protocol", "outcome"],
        )
        for (protocol, outcome), n in sorted(m.linkbacks.items()):
            received.add_metric([protocol, outcome], n)
        yield received
        verified = CounterMetricFamily(
            "linkbridge_verifications", "Source verifications, by outcome.", labels=["outcome"]
        )
        for outcome, n in sorted(m.verifications.items()):
            verified.add_metric([outcome], n)
        yield verified
        feeds = CounterMetricFamily(
            "linkbridge_feed_responses", "Feed answers, by HTTP status.", labels=["status"]
        )
        for status, n in sorted(m.feed_responses.items()):
            feeds.add_metric([str(status)], n)
        yield feeds
        yield CounterMetricFamily(
            "linkbridge_feed_builds",
            "Feed bodies built from the store (one per feed and change; the rest are cached).",
            value=m.feed_builds,
        )
        retired = CounterMetricFamily(
            "linkbridge_retired_requests",
            "Requests for retired URLs answered, by status (301/308/410...) and rule "
            "(exact, prefix, default, unresolved); added at each hit flush.",
            labels=["status", "rule"],
        )
        for (status, rule), n in sorted(m.retired.items()):
            retired.add_metric([str(status), rule], n)
        yield retired
        yield CounterMetricFamily(
            "linkbridge_store_errors", "Requests and flushes that failed in the store.",
            value=m.store_errors,
        )
        facts = m.facts
        for name, help_text, value in (
            ("linkbridge_job_queue_depth", "Jobs queued (verifications, webhooks).",
             facts.queue_depth),
            ("linkbridge_job_oldest_age_seconds", "Age of the oldest queued job, s.",
             facts.oldest_job_age_s),
            ("linkbridge_live_snapshot_version", "Store version the live snapshot was built from.",
             facts.snapshot_version),
            ("linkbridge_live_snapshot_age_seconds", "Time since the live snapshot was built, s.",
             facts.snapshot_age_s),
            ("linkbridge_hits_flush_lag_seconds", "Time since hits were last flushed, s.",
             facts.hits_flush_lag_s),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)
