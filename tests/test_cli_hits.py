"""`linkbridge hits --since DATE --csv` as a subprocess: the admin hits page's numbers per day."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from linkbridge.model import Hit, HitBatch, RuleKind
from linkbridge.store.sqlite import SqliteStore
from tests.support.serve import config_args, run_cli, store_overlay

P, E, U = RuleKind.PREFIX, RuleKind.EXACT, RuleKind.UNRESOLVED


async def test_since_csv_prints_per_day_series_and_top_unmapped_paths(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "linkbridge.db")
    await store.open()
    try:
        await store.add_hits(HitBatch.of([
            Hit("2018-02-26", "/innovation/ofta", 301, P, 6),
            Hit("2018-02-28", "/innovation/ofta", 301, P, 2),
            Hit("2018-03-01", "/transport/saknas", 404, U, 3),
            Hit("2018-02-28", "/innovation/om", 301, E, 4),
            Hit("2018-03-01", "/innovation/borta", 410, E, 5),
            Hit("2018-02-20", "/innovation/ofta", 301, P, 50),  # before --since
            Hit("2018-02-20", "/innovation/monster", 301, RuleKind.REGEX, 1),  # mapped, too
        ]))
    finally:
        await store.close()
    cfg = config_args(store_overlay(tmp_path))
    at = ["--at", "2018-03-01T12:00:00+01:00"]
    done = run_cli("hits", "--since", "2018-02-27", "--csv", "--top", "5", *at, *cfg)
    assert done.returncode == 0, done.stderr
    assert list(csv.reader(io.StringIO(done.stdout))) == [
        ["day", "all", "mapped", "unmapped", "gone", "/innovation/ofta", "/transport/saknas"],
        ["2018-02-27", "0", "0", "0", "0", "0", "0"],
        ["2018-02-28", "6", "4", "2", "0", "2", "0"],
        ["2018-03-01", "8", "5", "3", "5", "0", "3"],
    ]
    # --top at its edge: one path column; --csv alone starts at the instant's day (UTC)
    done = run_cli("hits", "--csv", "--top", "1", *at, *cfg)
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0][5:] == ["/innovation/ofta"]
    assert (rows[1][0], rows[-1][0], len(rows)) == ("2018-01-31", "2018-03-01", 31)
    assert next(r for r in rows if r[0] == "2018-02-20")[1:] == ["51", "1", "50", "0", "50"]
    # the old flags still work (unmapped as the hits page says it: no exact or regex rule),
    # and a bad date is refused with the flag's name
    unmapped = run_cli("hits", "--unmapped", *cfg).stdout
    assert "/innovation/ofta" in unmapped
    assert "/innovation/monster" not in unmapped
    assert "/innovation/om" not in unmapped
    assert "2018-03-01" in run_cli("hits", "--days", "2", *at, *cfg).stdout
    bad = run_cli("hits", "--since", "1 mars", "--csv", *cfg)
    assert bad.returncode == 2
    assert "hits --since" in bad.stderr
