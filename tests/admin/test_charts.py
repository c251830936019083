"""The hits page's pictures as pure functions: series from day totals, escaped SVG markup."""

# mypy: disable-error-code="arg-type"
# (lxml-stubs: parsed HTML is typed _Element and attributes str | None; the assertions check them)

from __future__ import annotations

from datetime import date

from lxml import etree

from linkbridge.admin import charts
from linkbridge.model import Hit, HitDay, RuleKind
from linkbridge.retire import hit_series

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {"all": "all", "mapped": "mapped", "unmapped": "unmapped", "gone": "gone"}
DAYS = ["2018-02-01", "2018-02-02", "2018-02-03"]


def parse(markup: str) -> etree._Element:
    return etree.fromstring(markup.encode(), etree.XMLParser(resolve_entities=False))


def test_day_range_is_inclusive_and_keeps_the_latest_days_at_the_edge() -> None:
    first, last = date(2018, 2, 1), date(2018, 2, 3)
    assert hit_series.day_range(first, last, max_days=3) == DAYS
    assert hit_series.day_range(first, last, max_days=2) == DAYS[1:]
    assert hit_series.day_range(last, first, max_days=3) == []  # before the instant: nothing
    assert hit_series.day_range(first, last, max_days=0) == []


def test_per_day_sorts_rules_and_statuses_into_the_four_series() -> None:
    totals = [
        HitDay(DAYS[0], 301, RuleKind.EXACT, 5),
        HitDay(DAYS[0], 410, RuleKind.EXACT, 2),  # a mapping to "gone": mapped and gone
        HitDay(DAYS[0], 301, RuleKind.PREFIX, 7),
        HitDay(DAYS[2], 404, RuleKind.UNRESOLVED, 1),
        HitDay(DAYS[2], 410, RuleKind.DEFAULT, 3),
        HitDay("2018-01-31", 301, RuleKind.PREFIX, 100),  # outside the days asked for
    ]
    assert hit_series.per_day(totals, DAYS) == [
        hit_series.DayCounts(DAYS[0], 14, 7, 7, 2),
        hit_series.DayCounts(DAYS[1]),
        hit_series.DayCounts(DAYS[2], 4, 0, 4, 3),
    ]


def test_per_path_sums_statuses_and_fills_missing_days() -> None:
    rows = [Hit(DAYS[0], "/a", 301, RuleKind.PREFIX, 2), Hit(DAYS[0], "/a", 404,
            RuleKind.UNRESOLVED, 1), Hit(DAYS[2], "/a", 301, RuleKind.PREFIX, 4),
            Hit("2017-01-01", "/b", 301, RuleKind.PREFIX, 9)]
    assert hit_series.per_path(rows, DAYS) == {"/a": [3, 0, 4]}


def test_daily_chart_has_a_labelled_row_per_series_and_a_bar_per_nonzero_day() -> None:
    rows = [hit_series.DayCounts(DAYS[0], 10, 4, 6, 0), hit_series.DayCounts(DAYS[1], 5, 5, 0, 5)]
    svg = parse(charts.daily_chart(rows, LABELS, ident="d", title="Per day", desc="two days"))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "d-t d-d"
    assert svg.findtext(f"{SVG}title") == "Per day"
    assert svg.findtext(f"{SVG}desc") == "two days"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["all", "max 10", "mapped", "max 5", "unmapped", "max 6", "gone", "max 5"]
    bars = [b.findtext(f"{SVG}title") for b in svg.iter(f"{SVG}rect")]
    assert bars == [f"all {DAYS[0]}: 10", f"all {DAYS[1]}: 5", f"mapped {DAYS[0]}: 4",
                    f"mapped {DAYS[1]}: 5", f"unmapped {DAYS[0]}: 6", f"gone {DAYS[1]}: 5"]
    heights = {b.findtext(f"{SVG}title"): float(b.get("height")) for b in svg.iter(f"{SVG}rect")}
    assert heights[f"all {DAYS[0]}: 10"] == 2 * heights[f"all {DAYS[1]}: 5"]  # own scale
    assert not list(svg.iter("{*}script"))


def test_text_is_escaped_never_markup() -> None:
    evil = '</title><script>alert(1)</script>"'
    svg = charts.sparkline([1, 2], ident='x"y', title=evil, desc=evil)
    tree = parse(svg)
    assert tree.findtext(f"{SVG}title") == evil
    assert not list(tree.iter("{*}script"))
    shares = parse(charts.share_bars([(evil, 1)], ident="s", title="t", desc="d"))
    assert [t.text for t in shares.iter(f"{SVG}text")] == [evil, "1 (100 %)"]


def test_sparkline_marks_the_peak_and_handles_one_day_and_no_hits() -> None:
    svg = parse(charts.sparkline([0, 3, 1], ident="s", title="t", desc="d"))
    points = [tuple(map(float, p.split(","))) for p in
              svg.find(f"{SVG}polyline").get("points").split()]
    assert len(points) == 3
    assert min(points, key=lambda p: p[1]) == points[1]  # the peak is highest (smallest y)
    dot = svg.find(f"{SVG}circle")
    assert (float(dot.get("cx")), float(dot.get("cy"))) == points[1]
    assert parse(charts.sparkline([0], ident="s", title="t", desc="d")).find(f"{SVG}circle") \
        is not None
    assert parse(charts.sparkline([], ident="s", title="t", desc="d")).find(f"{SVG}polyline") \
        is None


def test_share_bars_are_proportional_and_written_out() -> None:
    svg = parse(charts.share_bars([("/a/", 3), ("/b/", 1), ("rest", 0)], ident="s",
                                  title="t", desc="d"))
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] == 3 * widths[1]
    assert widths[2] == 0
    assert [t.text for t in svg.iter(f"{SVG}text")][1::2] == ["3 (75 %)", "1 (25 %)", "0 (0 %)"]
    assert charts.percent(1, 0) == "0 %"
