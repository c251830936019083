"""The redirect table page: add, edit, delete, CSV import/export, unmapped hits, explain,
successor checks."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from datetime import timedelta

import lxml.html
import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.model import Hit, HitBatch, Mapping, RuleKind
from tests.support import ROOT, Client, manual_clock
from tests.support.admin import login

AdminApp = Callable[..., Awaitable[Client]]
SourceServer = Callable[[web.Application], Awaitable[TestServer]]


async def test_add_edit_delete_a_mapping(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    response = await client.post(
        "/admin/redirects",
        data={
            "csrf": csrf,
            "source": "http://www.naringsbloggen.se/Innovation/Gammal-Sida",
            "target": "social",
            "note": "old page",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert await store.list_mappings() == [
        Mapping("/innovation/gammal-sida", "social", origin="store", note="old page")
    ]
    await client.post(
        "/admin/redirects",
        data={"csrf": csrf, "source": "/innovation/gammal-sida", "target": "gone", "note": ""},
    )
    assert [(m.source, m.target) for m in await store.list_mappings()] == [
        ("/innovation/gammal-sida", "gone")
    ]
    # the live table answers with it at once
    outcome = client.app[keys.LIVE].snapshot.table.lookup("/innovation/gammal-sida")
    assert (outcome.status, outcome.rule) == (410, RuleKind.EXACT)
    page = await (await client.get("/admin/redirects")).text()
    assert "/innovation/gammal-sida" in page
    assert "/innovation/author/*" in page  # config rows are listed too
    await client.post(
        "/admin/redirects/delete", data={"csrf": csrf, "source": "/innovation/gammal-sida"}
    )
    assert await store.list_mappings() == []


async def test_bad_mappings_are_refused_with_a_reason(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    for source, target, says in (
        ("/a/", "https://evil.example/", "allowed_target_hosts"),
        ("/a/", "https://evil.example\\.regeringen.se/", "evil.example/.regeringen.se"),
        ("/a/", "https://evil.example\\@www.regeringen.se/", "write that instead"),
        ("http://elsewhere.example/a/", "web", "not one of this site"),
        ("/a/*/b", "web", "final"),
        ("", "web", "needs 'source'"),
    ):
        response = await client.post(
            "/admin/redirects", data={"csrf": csrf, "source": source, "target": target}
        )
        assert response.status == 400
        assert says in html.unescape(await response.text())
    assert await client.app[keys.STORE].list_mappings() == []


async def test_csv_import_and_export_through_the_page(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    csv_in = (
        "old,new,note\r\n/innovation/a/,web,first\r\n"
        "http://naringsbloggen.se/transport/b/,https://www.regeringen.se/x/,second\r\n"
        "/digitalt-forst/c/*,gone,\r\n"
    )
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", csv_in.encode(), filename="redirects.csv", content_type="text/csv")
    response = await client.post("/admin/redirects/import", data=data)
    assert response.status == 200
    preview = html.unescape(await response.text())
    assert ("Förhandsvisning: 3 rader lästa; 3 läggs till, 0 ändras, 0 tas bort, 0 oförändrade"
            in preview)
    assert await client.app[keys.STORE].list_mappings() == []  # nothing before "Apply"
    response = await client.post("/admin/redirects/import", data={
        "csrf": csrf, "apply": "1", "csv_text": csv_in, "replace": "", "reason": "",
    })
    assert response.status == 200
    assert "Importerade 3 mappningar." in await response.text()
    exported = await client.get("/admin/redirects/export.csv")
    assert exported.status == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    body = await exported.text()
    assert body.splitlines() == [
        "old,new,note",
        "/digitalt-forst/c/*,gone,",
        "/innovation/a,web,first",
        "/transport/b,https://www.regeringen.se/x/,second",
    ]
    # the export imports back to the same table
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", body.encode(), filename="again.csv", content_type="text/csv")
    before = await client.app[keys.STORE].list_mappings()
    again = await client.post("/admin/redirects/import", data=data)
    assert "0 läggs till, 0 ändras, 0 tas bort, 3 oförändrade" in await again.text()
    assert await client.app[keys.STORE].list_mappings() == before


@pytest.mark.parametrize(("language", "says"), [
    ("en", "Preview: 2 rows read; 1 added, 1 changed, 0 removed, 0 unchanged"),
    ("sv", "Förhandsvisning: 2 rader lästa; 1 läggs till, 1 ändras, 0 tas bort, 0 oförändrade"),
])
async def test_the_import_preview_speaks_the_blogs_language(
    admin_app: AdminApp, language: str, says: str
) -> None:
    """The summary is in the page's language (site.language), as every other admin string."""
    client = await admin_app(extra=f'[site]\nlanguage = "{language}"\n')
    csrf = await login(client)
    await client.app[keys.STORE].put_mappings([Mapping("/innovation/a", "web", origin="store")],
                                              client.app[keys.CLOCK].now())
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", b"/innovation/a/,gone\n/innovation/b/,web\n", filename="t.csv",
                   content_type="text/csv")
    response = await client.post("/admin/redirects/import", data=data)
    assert response.status == 200
    page = lxml.html.fromstring(await response.text())
    assert page.findtext(".//section[@id='import-preview']/h3") == says


async def test_csv_preview_from_excel_with_replace(admin_app: AdminApp) -> None:
    """Excel's Swedish-locale CSV (Windows-1252, semicolons): preview, then replace."""
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    await store.put_mappings([Mapping("/gammal", "web", origin="store")],
                             client.app[keys.CLOCK].now())
    fixture = ROOT / "tests" / "fixtures" / "csv" / "excel-csv-windows1252-sv.csv"
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("replace", "1")
    data.add_field("file", fixture.read_bytes(), filename=fixture.name, content_type="text/csv")
    page = html.unescape(await (await client.post("/admin/redirects/import", data=data)).text())
    assert ("Förhandsvisning: 4 rader lästa; 4 läggs till, 0 ändras, 1 tas bort, 0 oförändrade"
            in page)
    assert "Höghastighetsbanor" in page  # decoded from Windows-1252 for the Apply form
    start = page.index('name="csv_text"')
    csv_text = page[page.index(">", start) + 1:page.index("</textarea>", start)]
    response = await client.post("/admin/redirects/import", data={
        "csrf": csrf, "apply": "1", "csv_text": csv_text, "replace": "1", "reason": "ny tabell",
    })
    assert response.status == 200
    sources = sorted(m.source for m in await store.list_mappings())
    assert "/gammal" not in sources
    assert len(sources) == 4


async def test_a_bad_csv_row_rejects_the_whole_file(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field(
        "file", b"/a/,web\n/b/,https://evil.example/\n", filename="x.csv", content_type="text/csv"
    )
    response = await client.post("/admin/redirects/import", data=data)
    assert response.status == 400
    assert "line 2" in await response.text()
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", b"/a/,web\nrel,web\n/b/,https://evil.example/\n", filename="x.csv",
                   content_type="text/csv")
    page = await (await client.post("/admin/redirects/import", data=data)).text()
    assert "<li>line 2: " in page
    assert "<li>line 3: " in page  # every bad row, not only the first
    assert await client.app[keys.STORE].list_mappings() == []
    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", b"\xff\xfe/a/,web\n", filename="x.csv", content_type="text/csv")
    assert (await client.post("/admin/redirects/import", data=data)).status == 400
    # the upload needs the CSRF token like every other form
    data = FormData()
    data.add_field("file", b"/a/,web\n", filename="x.csv", content_type="text/csv")
    assert (await client.post("/admin/redirects/import", data=data)).status == 403


async def test_unmapped_hits_most_first_and_map_to(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    await store.add_hits(
        HitBatch.of([
            Hit("2018-03-01", "/innovation/rarely", 301, RuleKind.PREFIX, 2),
            Hit("2018-03-01", "/innovation/often", 301, RuleKind.PREFIX, 40),
            Hit("2018-03-02", "/innovation/often", 301, RuleKind.PREFIX, 5),
            Hit("2018-03-01", "/innovation/om", 301, RuleKind.EXACT, 99),
        ])
    )
    page = await (await client.get("/admin/hits")).text()
    assert page.index("/innovation/often") < page.index("/innovation/rarely")
    assert "45 träffar" in page
    assert "/innovation/om" not in page  # exactly mapped: not listed
    response = await client.post(
        "/admin/hits",
        data={"csrf": csrf, "path": "/innovation/often", "target": "social", "note": "popular"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert [(m.source, m.target) for m in await store.list_mappings()] == [
        ("/innovation/often", "social")
    ]
    page = await (await client.get("/admin/hits")).text()
    assert "/innovation/often" not in page  # mapped now
    assert "/innovation/rarely" in page


async def test_explain_form(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    url = "http://www.naringsbloggen.se/innovation/om/"
    after = await client.get(
        "/admin/explain", params={"url": url, "at": "2018-03-01T12:00:00+01:00"}
    )
    text = await after.text()
    assert after.status == 200
    assert "https://x.com/naringsdep" in text
    assert "exact" in text
    before = await (await client.get("/admin/explain", params={"url": url})).text()
    assert "before" in before  # the app's clock is before the instant
    bad = await client.get("/admin/explain", params={"url": url, "at": "2018-03-01T12:00"})
    assert bad.status == 400
    assert "timezone" in await bad.text()


async def test_successor_check_button(admin_app: AdminApp, source_server: SourceServer) -> None:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ny sida")

    successor = web.Application()
    successor.router.add_get("/ny/", ok)
    server = await source_server(successor)
    base = f"http://127.0.0.1:{server.port}"
    client = await admin_app(
        ports=(server.port,),
        extra=(
            f'[successors]\nweb = "{base}/ny/"\nsocial = "{base}/social"\n'
            '[retire]\nallowed_target_hosts = ["127.0.0.1"]\narchive_url_template = ""\n'
            '[[site.blogs]]\npath = "/innovation/"\nsuccessor = "web"\n'
        ),
    )
    csrf = await login(client)
    assert "Inte kontrollerad än." in await (await client.get("/admin/successors")).text()
    manual_clock(client.app).advance(timedelta(minutes=5).total_seconds())
    response = await client.post("/admin/successors", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303  # at once: the check runs in the background
    run = client.app[keys.SUCCESSOR_RUN]
    for _ in range(600):
        if not run.running:
            break
        await asyncio.sleep(0.05)
    assert not run.running
    assert (run.done, run.total, run.bad) == (2, 2, 1)
    checks = await client.app[keys.STORE].list_successor_checks()
    assert [(c.url, c.ok, c.status) for c in checks] == [
        (f"{base}/social", False, 404),
        (f"{base}/ny/", True, 200),
    ]
    assert checks[0].checked_at == client.app[keys.CLOCK].now().isoformat()
    page = await (await client.get("/admin/successors")).text()
    assert "trasig" in page
    assert checks[0].checked_at in page


async def test_skipped_stored_rows_are_shown_on_the_page(admin_app: AdminApp) -> None:
    """A row stored before allowed_target_hosts was narrowed: listed, never fatal."""
    client = await admin_app()
    store = client.app[keys.STORE]
    await store.put_mappings(
        [Mapping("/innovation/a", "https://evil.example/a", origin="store")],
        client.app[keys.CLOCK].now(),
    )
    await client.app[keys.LIVE].refresh()
    await login(client)
    page = html.unescape(await (await client.get("/admin/redirects")).text())
    assert "Överhoppade: 1 lagrade mappningar som konfigurationen inte tillåter" in page
    assert "https://evil.example/a" in page
    assert "retire.allowed_target_hosts" in page
    ready = await (await client.get("/readyz")).json()
    assert ready["status"] == "degraded"
