"""The redirect table page (add, edit, delete, CSV import/export) and unmapped hits."""

from __future__ import annotations

import structlog
from aiohttp import web

from linkbridge import keys
from linkbridge.admin.hit_pictures import hit_pictures
from linkbridge.admin.page import back_to, field, render, see_other
from linkbridge.errors import BadRequest, RejectedImport
from linkbridge.model import MAPPED_RULES
from linkbridge.pages.notice import words
from linkbridge.retire.csvio import BadRows, decode_csv, export_mappings_csv, parse_mappings_csv

logger = structlog.get_logger(__name__)

MAX_CSV_BYTES = 1_000_000
"""Bounded anyway by server.max_body_bytes; a table of the whole network is far smaller."""


async def _table_context(request: web.Request) -> dict[str, object]:
    app = request.app
    stored = await app[keys.STORE].list_mappings()
    overridden = {m.source for m in stored}
    config_rows = [
        (row.source, row.to, row.source in overridden) for row in app[keys.SETTINGS].retire.mappings
    ]
    live = app[keys.LIVE]
    skipped = live.snapshot.table.skipped if live.loaded else ()
    return {"stored": stored, "config_rows": config_rows, "skipped": skipped,
            "problems": [], "plan": None}


async def get_redirects(request: web.Request) -> web.StreamResponse:
    """The store's mappings (editable; they win) and the config's (read-only)."""
    return render(request, "redirects.html", await _table_context(request))


def _who(request: web.Request) -> str:
    return request[keys.ADMIN_SESSION].username


async def _map_from_form(request: web.Request, source_field: str, page: str) -> web.StreamResponse:
    """Write the store mapping a form names (its source in `source_field`), then back to `page`."""
    form = await request.post()
    await request.app[keys.MODERATION].map(
        field(form, source_field, required=True),
        field(form, "target"),
        note=field(form, "note", max_chars=500),
        reason=field(form, "reason", max_chars=500),
        by=_who(request),
    )
    return see_other(back_to(form, page))


async def post_mapping(request: web.Request) -> web.StreamResponse:
    """Add a mapping, or change one (same source)."""
    return await _map_from_form(request, "source", "/admin/redirects")


async def post_delete(request: web.Request) -> web.StreamResponse:
    """Delete one store mapping (config rows are changed in the config file)."""
    form = await request.post()
    await request.app[keys.MODERATION].unmap(
        field(form, "source", required=True),
        reason=field(form, "reason", max_chars=500),
        by=_who(request),
    )
    return see_other("/admin/redirects")


async def post_import(request: web.Request) -> web.StreamResponse:
    """A CSV upload (`old,new[,note]`, as spreadsheets save it): every row checked, then a
    preview of what would be added, changed and (with "replace") removed; the moderator's
    "Apply" stores all of it, or none (through the moderation service, as the CLI does)."""
    form = await request.post()
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_CSV_BYTES + 1)
    elif isinstance(upload, str):
        data = upload.encode("utf-8")
    else:
        data = field(form, "csv_text", max_chars=MAX_CSV_BYTES).encode("utf-8")
        if not data:
            raise BadRequest("admin: choose a CSV file to import")
    if len(data) > MAX_CSV_BYTES:
        raise BadRequest(f"admin: the CSV file is larger than {MAX_CSV_BYTES} bytes")
    app = request.app
    try:
        text = decode_csv(data)
        mappings = parse_mappings_csv(text, app[keys.SETTINGS], app[keys.LIVE].canonicaliser)
    except BadRows as exc:
        context = await _table_context(request)
        return render(request, "redirects.html",
                      {**context, "error": exc.message, "problems": exc.problems}, status=400)
    except RejectedImport as exc:
        raise BadRequest(f"admin: {exc.message}") from None
    replace = field(form, "replace") == "1"
    reason = field(form, "reason", max_chars=500)
    service = app[keys.MODERATION]
    if field(form, "apply") != "1":
        plan = await service.plan_import(mappings, replace=replace)
        context = await _table_context(request)
        return render(request, "redirects.html", {
            **context, "plan": plan, "csv_text": text, "replace": replace, "reason": reason,
            "rows": len(mappings), "sample": PREVIEW_SAMPLE_ROWS,
        })
    await service.import_mappings(mappings, by=_who(request), reason=reason, replace=replace)
    context = await _table_context(request)
    done = words(app[keys.SETTINGS])("admin.redirects.imported", n=len(mappings))
    return render(request, "redirects.html", {**context, "message": done})


PREVIEW_SAMPLE_ROWS = 20
"""Rows of each kind the import preview lists; the counts cover all of them."""


async def get_export(request: web.Request) -> web.StreamResponse:
    """The store's mappings as CSV, the same format the import reads."""
    body = export_mappings_csv(await request.app[keys.STORE].list_mappings())
    return web.Response(
        text=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="linkbridge-redirects.csv"'},
    )


async def get_hits(request: web.Request) -> web.StreamResponse:
    """Requests per day, sub-blog shares, then paths no exact or regex mapping answers, most
    hit first (the top ones with a sparkline), each with a "map to" form."""
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    table = app[keys.LIVE].snapshot.table
    hits = await app[keys.STORE].top_hits(limit=size + len(table), exclude_rules=MAPPED_RULES)
    unmapped = [h for h in hits if table.lookup(h.path).unmapped][:size]
    rows = [(h, table.lookup(h.path)) for h in unmapped]
    pictures = await hit_pictures(request, [h.path for h in unmapped])
    return render(request, "hits.html", {"rows": rows, **pictures})


async def post_map_hit(request: web.Request) -> web.StreamResponse:
    """Write a store mapping for one unmapped path."""
    return await _map_from_form(request, "path", "/admin/hits")
