"""Every URL shape of the old blog after the instant, through the real app and example config."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkbridge import keys
from linkbridge.model import Mapping, RuleKind
from linkbridge.retire.explain import explain_url
from tests.support import AFTER, SEED_PATH, AppFactory, Client
from tests.support.retire import SOCIAL, WEB, raw_request, retired_headers

SEED_KEY = SEED_PATH.rstrip("/")
EXACT, PREFIX, DEFAULT = RuleKind.EXACT, RuleKind.PREFIX, RuleKind.DEFAULT

# (path as sent, Host, extra headers, Location, rule, canonical key counted)
SHAPES: list[tuple[str, str, dict[str, str], str, RuleKind, str]] = [
    (SEED_PATH, "www.naringsbloggen.se", {}, WEB, PREFIX, SEED_KEY),
    (SEED_PATH, "naringsbloggen.se", {}, WEB, PREFIX, SEED_KEY),
    (SEED_PATH, "www.naringsbloggen.se", {"X-Forwarded-Proto": "https"}, WEB, PREFIX, SEED_KEY),
    (SEED_PATH, "NARINGSBLOGGEN.SE", {"X-Forwarded-Proto": "https"}, WEB, PREFIX, SEED_KEY),
    (SEED_KEY, "www.naringsbloggen.se", {}, WEB, PREFIX, SEED_KEY),
    (SEED_PATH.upper(), "www.naringsbloggen.se", {}, WEB, PREFIX, SEED_KEY),
    (
        "/innovation/innovationsstrategi/innovationsupphandling-p%61-fr%41mmarsch/",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        SEED_KEY,
    ),
    (
        "/%69nnovation" + SEED_PATH[len("/innovation") :],
        "naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        SEED_KEY,
    ),
    (
        "//innovation//innovationsstrategi/innovationsupphandling-pa-frammarsch//",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        SEED_KEY,
    ),
    (
        SEED_PATH + "?utm_source=twitter&replytocom=5",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        SEED_KEY,
    ),
    (SEED_PATH + "#comments", "www.naringsbloggen.se", {}, WEB, PREFIX, SEED_KEY),
    ("/", "www.naringsbloggen.se", {}, WEB, EXACT, "/"),
    ("/?utm_medium=rss", "naringsbloggen.se", {}, WEB, EXACT, "/"),
    ("/innovation/om/", "www.naringsbloggen.se", {}, SOCIAL, EXACT, "/innovation/om"),
    ("/innovation/OM", "www.naringsbloggen.se", {}, SOCIAL, EXACT, "/innovation/om"),
    (
        "/transporter-och-infrastruktur/om/",
        "www.naringsbloggen.se",
        {},
        SOCIAL,
        EXACT,
        "/transporter-och-infrastruktur/om",
    ),
    (
        "/innovation/author/annie-loof/",
        "www.naringsbloggen.se",
        {},
        SOCIAL,
        PREFIX,
        "/innovation/author/annie-loof",
    ),
    (
        "/innovation/author/annie-loof/page/2/",
        "www.naringsbloggen.se",
        {},
        SOCIAL,
        PREFIX,
        "/innovation/author/annie-loof/page/2",
    ),
    ("/innovation/2013/10/", "www.naringsbloggen.se", {}, WEB, PREFIX, "/innovation/2013/10"),
    (
        "/innovation/category/innovationsstrategi/",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        "/innovation/category/innovationsstrategi",
    ),
    ("/innovation/?p=123", "www.naringsbloggen.se", {}, WEB, PREFIX, "/innovation?p=123"),
    ("/innovation/", "www.naringsbloggen.se", {}, WEB, PREFIX, "/innovation"),
    (
        "/transporter-och-infrastruktur/vagar/trafiksakerhet-2016/",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        "/transporter-och-infrastruktur/vagar/trafiksakerhet-2016",
    ),
    (
        "/transporter-och-infrastruktur/v%C3%A4gar-och-j%C3%A4rnv%C3%A4gar/%E2%80%93-2/",
        "www.naringsbloggen.se",
        {},
        WEB,
        PREFIX,
        "/transporter-och-infrastruktur/vägar-och-järnvägar/–-2",
    ),
    (
        "/okand-blogg/nagot-inlagg/",
        "www.naringsbloggen.se",
        {},
        WEB,
        DEFAULT,
        "/okand-blogg/nagot-inlagg",
    ),
    ("/?p=12", "www.naringsbloggen.se", {}, WEB, DEFAULT, "/?p=12"),
]


def ids(shape: tuple[str, str, dict[str, str], str, RuleKind, str]) -> str:
    path, host, headers, _, _, _ = shape
    scheme = "https" if headers.get("X-Forwarded-Proto") == "https" else "http"
    return f"{scheme}://{host}{path}"


@pytest.fixture
async def retired(lb_app: AppFactory) -> Client:
    """The example config after the instant."""
    return await lb_app(at=AFTER)


@pytest.mark.parametrize("shape", SHAPES, ids=[ids(s) for s in SHAPES])
async def test_every_url_shape_lands_on_its_documented_successor(
    retired: Client, shape: tuple[str, str, dict[str, str], str, RuleKind, str]
) -> None:
    path, host, headers, location, rule, key = shape
    hits = retired.app[keys.HITS]
    hits.drain()
    resp = await raw_request(retired, "GET", path, headers={"Host": host, **headers})
    assert resp.status == 301
    assert resp.headers["Location"] == location
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    assert await resp.read() == b""
    [hit] = hits.drain().paths
    assert (hit.path, hit.status, hit.rule) == (key, 301, rule)


async def test_a_store_mapping_overrides_config_without_a_restart(retired: Client) -> None:
    store, live = retired.app[keys.STORE], retired.app[keys.LIVE]
    resp = await retired.get("/innovation/om/", allow_redirects=False)
    assert resp.headers["Location"] == SOCIAL
    new = "https://www.regeringen.se/sveriges-regering/klimat-och-naringslivsdepartementet/"
    await store.put_mappings(
        [
            Mapping("/innovation/om", new, origin="store"),
            Mapping(SEED_KEY, "https://www.regeringen.se/innovation/", origin="store"),
        ],
        AFTER,
    )
    assert await live.refresh()
    resp = await retired.get("/innovation/om/", allow_redirects=False)
    assert resp.headers["Location"] == new
    seed = await retired.get(SEED_PATH.upper(), allow_redirects=False)
    assert seed.headers["Location"] == "https://www.regeringen.se/innovation/"
    [*_, hit] = retired.app[keys.HITS].drain().paths
    assert hit.rule is RuleKind.EXACT


async def test_a_store_mapping_arrives_by_the_version_poll(retired: Client) -> None:
    store, live = retired.app[keys.STORE], retired.app[keys.LIVE]
    before = live.snapshot.version
    await store.put_mappings([Mapping("/innovation/2013/10", "social", origin="store")], AFTER)
    for _ in range(200):  # poll_interval_s is 0.2 in the test overlay; no timing asserted
        if live.snapshot.version != before:
            break
        await asyncio.sleep(0.05)
    resp = await retired.get("/innovation/2013/10/", allow_redirects=False)
    assert resp.headers["Location"] == SOCIAL


@pytest.mark.parametrize(
    ("target", "path"),
    [("gone", "/innovation/borttaget-inlagg/"), ("", "/innovation/olost-inlagg/")],
    ids=["gone", "unresolved"],
)
async def test_gone_and_unresolved_mappings_answer_the_410_page(
    retired: Client, target: str, path: str
) -> None:
    await retired.app[keys.STORE].put_mappings(
        [Mapping(path.rstrip("/"), target, origin="store")], AFTER
    )
    await retired.app[keys.LIVE].refresh()
    resp = await retired.get(path, headers=retired_headers("evil.example"), allow_redirects=False)
    assert resp.status == 410
    assert "Location" not in resp.headers
    assert resp.content_type == "text/html"
    assert resp.charset == "utf-8"
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    page = await resp.text()
    assert '<html lang="sv">' in page
    assert '<section lang="en"' in page
    assert "sidan finns inte längre" in page
    assert "this page is gone" in page
    assert f'href="{WEB}"' in page
    assert f'href="{SOCIAL}"' in page
    assert "tomas.engholm@regeringskansliet.se" in page
    archive = f"https://web.archive.org/web/2017/http://www.naringsbloggen.se{path}"
    assert f'href="{archive}"' in page
    assert "evil.example" not in page
    [hit] = retired.app[keys.HITS].drain().paths
    expected = RuleKind.UNRESOLVED if target == "" else RuleKind.EXACT
    assert (hit.status, hit.rule) == (410, expected)


async def test_410_page_has_no_archive_link_without_a_template(lb_app: AppFactory) -> None:
    client = await lb_app(
        at=AFTER,
        extra='[retire]\narchive_url_template = ""\n'
        '[[retire.mappings]]\nfrom = "/innovation/trasig/"\nto = ""\n',
    )
    resp = await client.get("/innovation/trasig/")
    assert resp.status == 410
    page = await resp.text()
    assert "web.archive.org" not in page
    assert f'href="{WEB}"' in page


async def test_redirect_status_308_is_selectable(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER, extra="[retire]\nredirect_status = 308\ncache_max_age_s = 60\n")
    for path, location in ((SEED_PATH, WEB), ("/innovation/om/", SOCIAL), ("/x/", WEB)):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 308, path
        assert resp.headers["Location"] == location
        assert resp.headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize("path", [SEED_PATH, "/innovation/trasig/"], ids=["redirect", "gone"])
async def test_head_answers_like_get_without_a_body(lb_app: AppFactory, path: str) -> None:
    client = await lb_app(
        at=AFTER, extra='[[retire.mappings]]\nfrom = "/innovation/trasig/"\nto = ""\n'
    )
    get = await client.get(path, allow_redirects=False)
    get_body = await get.read()
    head = await client.head(path, allow_redirects=False)
    assert head.status == get.status
    for name in ("Location", "Cache-Control", "Content-Type"):
        assert head.headers.get(name) == get.headers.get(name), name
    assert await head.read() == b""
    if get.status == 410:
        assert get_body
        assert head.headers.get("Content-Length") in (None, str(len(get_body)))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", [SEED_PATH, "/", "/innovation/om/", "/okand/"])
async def test_other_methods_are_405_never_a_redirect(
    retired: Client, method: str, path: str
) -> None:
    resp = await retired.request(method, path, data=b"x=1", allow_redirects=False)
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"
    assert "Location" not in resp.headers


@pytest.mark.parametrize(
    "path", ["/%ff/", "/innovation/%ff", "/innovation/%C3/", "/innovation/?p=%ff", "/%00/"]
)
async def test_undecodable_path_is_400(retired: Client, path: str) -> None:
    resp = await retired.get(path, allow_redirects=False)
    assert resp.status == 400
    assert "Location" not in resp.headers


async def test_location_never_comes_from_the_request(retired: Client) -> None:
    hostile = {
        "Host": "evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "Forwarded": "host=evil.example;proto=https",
        "Referer": "http://evil.example/",
    }
    for path in (SEED_PATH, "/", "/innovation/om/", "//evil.example/x", "/okand/"):
        resp = await raw_request(retired, "GET", path, headers=hostile)
        assert resp.status == 301, path
        assert "evil.example" not in resp.headers["Location"]


ROUTE_WORDS = [
    "%ff",
    "%2F",
    "..",
    ".",
    "%2e%2e",
    "evil.example",
    "https:",
    "@",
    "feed",
    "trackback",
    "TRACKBACK",
    "xmlrpc.php",
    "wp-trackback.php",
    "notice",
    "webmention",
    "sitemap.xml",
    "admin",
    "innovation",
    "om",
    "author",
    "?p=1",
]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.lists(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
        | st.sampled_from(ROUTE_WORDS),
        max_size=6,
    ),
    query=st.text(max_size=20),
)
async def test_fuzzed_paths_do_what_redirects_check_says(
    retired: Client, path: list[str], query: str
) -> None:
    """The running app and `redirects check` agree; a Location is a table target or our own."""
    raw = "/" + "/".join(quote(seg, safe="%?=") for seg in path)
    if query:
        raw += ("&" if "?" in raw else "?") + quote(query, safe="=&")
    app = retired.app
    said = explain_url(
        app[keys.SETTINGS],
        app[keys.LIVE].canonicaliser,
        await app[keys.STORE].list_mappings(),
        "http://www.naringsbloggen.se" + raw,
        AFTER,
        app[keys.LIVE].snapshot.registry,
    )
    resp = await raw_request(retired, "GET", raw)
    location = resp.headers.get("Location")
    if said["status"] is not None:
        assert (resp.status, location) == (said["status"], said.get("location")), said
        if location is not None:
            assert location in app[keys.LIVE].snapshot.table.targets()
    else:
        assert said["outcome"] in ("endpoint", "feed"), said
        assert (
            resp.status not in (301, 308)
            or location is None
            or location.startswith(("http://www.naringsbloggen.se/", "/"))
        ), (said, location)
