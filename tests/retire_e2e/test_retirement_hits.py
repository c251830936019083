"""Hit counting after the instant: in memory, ignore list, cap, flush, and `linkbridge hits`."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from linkbridge import keys
from linkbridge.cli import main
from linkbridge.model import Mapping, RuleKind
from linkbridge.settings_loader import DEFAULT_CONFIG
from linkbridge.store import open_store
from tests.support import AFTER, SEED_PATH, AppFactory, Client, manual_clock
from tests.support.retire import INSTANT, ONE_SECOND

DAY = "2018-03-01"
SEED_KEY = SEED_PATH.rstrip("/")
HIT_LINE = re.compile(r"^\s*\d+\s+\d{3}\s+\w+\s+/")
IGNORED = [
    "/favicon.ico",
    "/innovation/favicon.ico",
    "/wp-login.php",
    "/innovation/wp-login.php?action=register",
    "/wp-admin/",
    "/innovation/wp-admin/admin-ajax.php",
    "/wp-content/themes/naring/style.css",
    "/apple-touch-icon-precomposed.png",
]


def config_args(tmp_path: Path) -> list[str]:
    """The same files lb_app loaded: example, test overlay, extra overlay."""
    args = ["--config", str(DEFAULT_CONFIG), "--config", str(tmp_path / "overlay.toml")]
    if (tmp_path / "extra.toml").exists():
        args += ["--config", str(tmp_path / "extra.toml")]
    return args


async def add_unresolved(client: Client) -> None:
    """A store mapping with no target ("" = unresolved): config arrays would replace, not add."""
    await client.app[keys.STORE].put_mappings(
        [Mapping("/innovation/trasig", "", origin="store")], AFTER
    )
    await client.app[keys.LIVE].refresh()


def hit_lines(out: str) -> list[list[str]]:
    """The `hits` rows of the output (log lines may share the stream)."""
    return [line.split() for line in out.splitlines() if HIT_LINE.match(line)]


async def visit(client: Client, paths: list[str]) -> None:
    for path in paths:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status in (301, 410), path


async def test_requests_after_the_instant_are_counted_by_day_path_status_rule(
    lb_app: AppFactory,
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND)
    await add_unresolved(client)
    hits = client.app[keys.HITS]
    assert (await client.get(SEED_PATH)).status == 404  # before: no origin, not counted
    assert hits.pending() == 0

    manual_clock(client.app).set(AFTER)
    await visit(
        client,
        [
            SEED_PATH,
            SEED_PATH.upper(),
            SEED_KEY + "?utm_source=x",
            "/innovation/om/",
            "/",
            "/okand/",
            "/innovation/trasig/",
            "/innovation/trasig",
        ],
    )
    counted = {(h.day, h.path, h.status, h.rule): h.count for h in hits.drain().paths}
    assert counted == {
        (DAY, SEED_KEY, 301, RuleKind.PREFIX): 3,
        (DAY, "/innovation/om", 301, RuleKind.EXACT): 1,
        (DAY, "/", 301, RuleKind.EXACT): 1,
        (DAY, "/okand", 301, RuleKind.DEFAULT): 1,
        (DAY, "/innovation/trasig", 410, RuleKind.UNRESOLVED): 2,
    }


async def test_the_ignore_list_is_skipped(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    hits = client.app[keys.HITS]
    ignored_before = hits.ignored
    await visit(client, IGNORED)
    assert hits.drain().paths == ()
    assert hits.ignored - ignored_before == len(IGNORED)


@pytest.mark.parametrize("cap", [0, 1, 3])
async def test_distinct_keys_are_capped_at_hit_keys_max(lb_app: AppFactory, cap: int) -> None:
    client = await lb_app(at=AFTER, extra=f"[retire]\nhit_keys_max = {cap}\n")
    hits = client.app[keys.HITS]
    paths = [f"/okand/{i}/" for i in range(cap)]
    await visit(client, paths * 2)  # exactly at the cap: all kept
    assert hits.pending() == cap
    assert hits.other_paths == 0
    await visit(client, ["/okand/one-too-many/"])  # past it: it takes a least-hit path's place
    assert hits.pending() == cap
    assert hits.other_paths == 2 if cap else 1  # that path's hits, or (no keys) the new one's
    assert hits.evicted == (1 if cap else 0)
    batch = hits.drain()
    kept = {h.path: h.count for h in batch.paths}
    assert len(kept) == cap
    if cap:
        assert kept["/okand/one-too-many"] == 1
    [day] = batch.days
    assert (day.hits, day.other_paths) == (2 * cap + 1, hits.other_paths)
    assert sum(kept.values()) + day.other_paths == day.hits


async def test_flush_loop_writes_to_the_store_and_hits_cli_lists_unmapped(
    lb_app: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await lb_app(at=AFTER, extra="[retire]\nhit_flush_interval_s = 0.05\n")
    await add_unresolved(client)
    store, hits = client.app[keys.STORE], client.app[keys.HITS]
    plan = Counter(
        {
            SEED_PATH: 5,
            "/innovation/2013/10/": 4,
            "/innovation/trasig/": 3,
            "/okand-blogg/": 2,
            "/innovation/om/": 6,  # exact mapping: not "unmapped"
            "/": 7,  # exact mapping
        }
    )
    for path, n in plan.items():
        await visit(client, [path] * n)
    await visit(client, IGNORED)
    rows: list[Any] = []
    for _ in range(400):  # wait for the flush loop; nothing timed
        rows = await store.top_hits(limit=50)
        if sum(r.count for r in rows) == sum(plan.values()) and hits.pending() == 0:
            break
        await asyncio.sleep(0.05)
    assert {r.path: r.count for r in rows} == {
        SEED_KEY: 5,
        "/innovation/2013/10": 4,
        "/innovation/trasig": 3,
        "/okand-blogg": 2,
        "/innovation/om": 6,
        "/": 7,
    }

    code = await asyncio.to_thread(
        main, ["hits", *config_args(tmp_path), "--unmapped", "--top", "50"]
    )
    assert code == 0
    assert hit_lines(capsys.readouterr().out) == [
        ["5", "301", "prefix", SEED_KEY],
        ["4", "301", "prefix", "/innovation/2013/10"],
        ["3", "410", "unresolved", "/innovation/trasig"],
        ["2", "301", "default", "/okand-blogg"],
    ]
    code = await asyncio.to_thread(main, ["hits", *config_args(tmp_path), "--top", "1"])
    assert code == 0
    assert hit_lines(capsys.readouterr().out) == [["7", "301", "exact", "/"]]


async def test_drain_and_add_hits_are_additive(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    store, hits = client.app[keys.STORE], client.app[keys.HITS]
    await visit(client, [SEED_PATH] * 2)
    await store.add_hits(hits.drain())
    await visit(client, [SEED_PATH] * 3)
    await store.add_hits(hits.drain())
    [row] = await store.top_hits(limit=10)
    assert (row.path, row.count, row.rule) == (SEED_KEY, 5, RuleKind.PREFIX)


async def test_hits_are_flushed_when_the_app_stops(lb_app: AppFactory, tmp_path: Path) -> None:
    client = await lb_app(at=AFTER, extra="[retire]\nhit_flush_interval_s = 3600\n")
    settings = client.app[keys.SETTINGS]
    await visit(client, [SEED_PATH] * 2)
    await client.close()
    store = open_store(settings.store.url)
    await store.open()
    try:
        [row] = await store.top_hits(limit=10)
    finally:
        await store.close()
    assert (row.path, row.count) == (SEED_KEY, 2)
