"""The hits page's pictures: per-day totals, top unmapped paths' sparklines, sub-blog shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from aiohttp import web

from linkbridge import keys
from linkbridge.admin import charts
from linkbridge.pages.notice import words
from linkbridge.retire import hit_series


async def hit_pictures(request: web.Request, top_paths: Sequence[str]) -> dict[str, object]:
    """Template values: `days` (DayCounts rows), `daily_svg`, `sparks` ((path, total, svg)),
    `shares` ((label, hits, percent)) and `shares_svg`, over the latest days since the instant."""
    app = request.app
    settings = app[keys.SETTINGS]
    t = words(settings)
    store = app[keys.STORE]
    first = settings.site.shutdown_at.astimezone(UTC).date()
    last = app[keys.CLOCK].now().astimezone(UTC).date()
    days = hit_series.day_range(first, last, max_days=settings.admin.hits_chart_days)
    if not days:
        return {"days": [], "sparks": [], "shares": []}
    since = days[0]
    rows = hit_series.per_day(await store.hit_days(since_day=since), days)
    labels = {s: t(f"admin.hits.series.{s}") for s in hit_series.SERIES}
    span = t("admin.hits.span", first=days[0], last=days[-1], n=len(days))
    daily_svg = charts.daily_chart(
        rows, labels, ident="hits-daily", title=t("admin.hits.daily"),
        desc=span + " " + "; ".join(
            f"{labels[s]}: {sum(r.value(s) for r in rows)}" for s in hit_series.SERIES),
    )
    table = app[keys.LIVE].snapshot.table  # "unmapped" as the list and the chart count it
    wanted = [p for p in top_paths if table.lookup(p).unmapped][: settings.admin.hits_chart_paths]
    series = hit_series.per_path(await store.path_days(wanted, since_day=since), days)
    sparks = []
    for i, path in enumerate(wanted):
        values = series.get(path, [0] * len(days))
        total = sum(values)
        sparks.append((path, total, charts.sparkline(
            values, ident=f"hits-spark-{i}", title=t("admin.hits.spark", path=path),
            desc=t("admin.hits.spark_desc", total=total, peak=max(values), span=span),
        )))
    shares = await _shares(request, since, sum(r.all for r in rows))
    shares_svg = charts.share_bars(
        [(label, n) for label, n, _ in shares], ident="hits-shares",
        title=t("admin.hits.shares"), desc=span)
    return {"days": rows, "daily_svg": daily_svg, "sparks": sparks, "span": span,
            "shares": shares, "shares_svg": shares_svg, "series": hit_series.SERIES,
            "labels": labels}


async def _shares(
    request: web.Request, since: str, all_hits: int
) -> list[tuple[str, int, str]]:
    """(label, hits, percent) per sub-blog path, the rest of the site, and the hits with no
    path row (past the per-day cap, or of days whose path rows were pruned)."""
    app = request.app
    settings = app[keys.SETTINGS]
    t = words(settings)
    blogs = list(settings.site.blog_paths)
    totals = await app[keys.STORE].prefix_hits([*blogs, "/"], since_day=since)
    in_blogs = sum(totals[b] for b in blogs)
    rows = [(b, totals[b]) for b in blogs]
    rows.append((t("admin.hits.elsewhere"), max(totals["/"] - in_blogs, 0)))
    rows.append((t("admin.hits.no_row"), max(all_hits - totals["/"], 0)))
    return [(label, n, charts.percent(n, all_hits)) for label, n in rows]
