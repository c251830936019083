"""Hits as pictures: the per-day series (retire/hit_series.py) drawn as inline SVG markup.

Pure: numbers in, escaped markup out (no scripts, no colour-only meaning: every series is
its own labelled row, every shape has a <title>). Hand-drawn rather than a plotting library:
a few rects and a polyline need no dependency, and the markup must pass a strict CSP.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from linkbridge.retire.hit_series import SERIES, DayCounts
from linkbridge.text import for_page


def _text(value: object) -> Markup:
    """Text in a chart (labels, paths in titles): the one display path, then escaped."""
    return escape(for_page(str(value)))


def _svg(ident: str, title: str, desc: str, width: int, height: int, body: str) -> Markup:
    # Every text put in here and in `body` went through _text(); the rest are numbers.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}"'
        f' class="chart" aria-labelledby="{_text(ident)}-t {_text(ident)}-d"'
        f' preserveAspectRatio="xMinYMin meet">'
        f'<title id="{_text(ident)}-t">{_text(title)}</title>'
        f'<desc id="{_text(ident)}-d">{_text(desc)}</desc>{body}</svg>'
    )


DAY_WIDTH = 600
LABEL_WIDTH = 150
ROW_HEIGHT = 56
BAR_HEIGHT = 40


def daily_chart(
    rows: Sequence[DayCounts], labels: dict[str, str], *, ident: str, title: str, desc: str
) -> Markup:
    """One labelled row of bars per series (small multiples sharing the day axis), each row
    scaled to its own maximum, written beside its label; a <title> on every bar."""
    parts: list[str] = []
    n = max(len(rows), 1)
    step = (DAY_WIDTH - LABEL_WIDTH) / n
    for i, series in enumerate(SERIES):
        top = i * ROW_HEIGHT
        values = [r.value(series) for r in rows]
        peak = max(values, default=0)
        parts.append(
            f'<text x="0" y="{top + 24}" font-size="14">{_text(labels[series])}</text>'
            f'<text x="0" y="{top + 42}" font-size="12">max {peak}</text>'
            f'<line x1="{LABEL_WIDTH}" x2="{DAY_WIDTH}" y1="{top + BAR_HEIGHT + 4}"'
            f' y2="{top + BAR_HEIGHT + 4}" stroke="currentColor" stroke-width="1"/>'
        )
        for j, (row, value) in enumerate(zip(rows, values, strict=True)):
            if not value:
                continue
            h = max(1.0, BAR_HEIGHT * value / peak)
            x = LABEL_WIDTH + j * step
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + 4 + BAR_HEIGHT - h:.1f}"'
                f' width="{max(step * 0.8, 0.5):.1f}" height="{h:.1f}" fill="currentColor">'
                f"<title>{_text(labels[series])} {_text(row.day)}: {value}</title></rect>"
            )
    return _svg(ident, title, desc, DAY_WIDTH, len(SERIES) * ROW_HEIGHT, "".join(parts))


SPARK_WIDTH = 120
SPARK_HEIGHT = 24


def sparkline(values: Sequence[int], *, ident: str, title: str, desc: str) -> Markup:
    """A small line of one path's per-day counts; the peak marked with a dot."""
    peak = max(values, default=0)
    n = len(values)
    if n == 0:
        return _svg(ident, title, desc, SPARK_WIDTH, SPARK_HEIGHT, "")

    def point(i: int, v: int) -> tuple[float, float]:
        x = SPARK_WIDTH / 2 if n == 1 else 2 + i * (SPARK_WIDTH - 4) / (n - 1)
        y = SPARK_HEIGHT - 2 - (SPARK_HEIGHT - 4) * (v / peak if peak else 0)
        return x, y

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(values)))
    px, py = point(values.index(peak), peak)
    body = (
        f'<polyline class="spark" points="{points}" fill="none" stroke="currentColor"'
        f' stroke-width="1.5"/><circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="currentColor"/>'
    )
    return _svg(ident, title, desc, SPARK_WIDTH, SPARK_HEIGHT, body)


SHARE_WIDTH = 600
SHARE_ROW = 28


def share_bars(shares: Sequence[tuple[str, int]], *, ident: str, title: str, desc: str) -> Markup:
    """One horizontal bar per (label, hits), with the label and "n (p %)" written beside it."""
    total = sum(n for _, n in shares)
    parts: list[str] = []
    for i, (label, n) in enumerate(shares):
        top = i * SHARE_ROW
        share = n / total if total else 0.0
        width = (SHARE_WIDTH - 2 * LABEL_WIDTH) * share
        parts.append(
            f'<text x="0" y="{top + 18}" font-size="14">{_text(label)}</text>'
            f'<rect class="share" x="{LABEL_WIDTH}" y="{top + 6}" width="{width:.1f}"'
            f' height="16" fill="currentColor"><title>{_text(label)}: {n}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{top + 18}" font-size="12">'
            f"{n} ({percent(n, total)})</text>"
        )
    return _svg(ident, title, desc, SHARE_WIDTH, max(len(shares), 1) * SHARE_ROW, "".join(parts))


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage ("0 %" when there is no whole)."""
    return f"{round(100 * part / whole) if whole else 0} %"
