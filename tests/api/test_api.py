"""The read-only JSON API against the running app on a real SQLite store: the target matched
through the post registry, JF2, counts, removed linkbacks, CORS, ETag/304, and every answer
checked against docs/openapi.yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from linkbridge import keys
from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState, SourceDetails
from tests.support import ROOT, SEED_POST, AppFactory

Client = TestClient[web.Request, web.Application]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text("utf-8"))
NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
SEED_ID = 2187


def check(path: str, status: int, content_type: str, body: Any) -> None:
    """Validate one real answer against the OpenAPI document."""
    answer = SPEC["paths"][path]["get"]["responses"][str(status)]
    if "$ref" in answer:
        answer = SPEC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"][content_type]["schema"]
    validator = OAS31Validator({"components": SPEC["components"], **schema},
                               format_checker=OAS31Validator.FORMAT_CHECKER)
    validator.validate(body)


async def get(client: Client, url: str, **headers: str) -> tuple[int, Any, Any]:
    resp = await client.get(url, headers=headers)
    body = await resp.json(content_type=None) if resp.status not in (204, 304) else None
    path = url.split("?", 1)[0]
    if resp.status in (200, 400, 404):
        check(path, resp.status, resp.headers["Content-Type"].split(";")[0], body)
    return resp.status, resp.headers, body


async def add_linkback(
    client: Client, n: int, *, state: LinkbackState = LinkbackState.APPROVED,
    protocol: LinkbackProtocol = LinkbackProtocol.WEBMENTION, mention_type: str = "mention",
) -> int:
    """A linkback received, verified (what verification read) and moved to `state`."""
    store = client.app[keys.STORE]
    at = NOW + timedelta(minutes=n)
    draft = LinkbackDraft(
        blog="/innovation/", post_id=SEED_ID, source_url=f"https://blogg{n}.example/inlagg/",
        source_canonical=f"blogg{n}.example/inlagg/", source_host=f"blogg{n}.example",
        protocol=protocol,
    )
    result = await store.record_linkback(draft, at, resend_is_duplicate=True)
    details = SourceDetails(title=f"Inlägg {n}", excerpt="<img src=x> & mer",
                            author_name="Karin Berg", mention_type=mention_type)
    row = await store.set_state(result.linkback.id, LinkbackState.HELD, actor="verifier",
                                reason="verified", now=at, details=details)
    if state is not LinkbackState.HELD:
        await store.set_state(row.id, state, actor="moderator", reason="", now=at)
    await client.app[keys.LIVE].refresh()
    return row.id


@pytest.fixture
async def client(lb_app: AppFactory) -> Client:
    return await lb_app()


def test_the_openapi_document_is_valid() -> None:
    validate_spec(SPEC)


@pytest.mark.parametrize(
    "target",
    [
        SEED_POST,
        SEED_POST.replace("http://", "https://"),
        SEED_POST.rstrip("/"),
        SEED_POST.replace("www.", ""),
        SEED_POST.upper().replace("HTTP://WWW.NARINGSBLOGGEN.SE", "http://www.naringsbloggen.se"),
        f"http://www.naringsbloggen.se/innovation/?p={SEED_ID}",
        SEED_POST + "#comments",
        SEED_POST + "amp/",
    ],
)
async def test_every_form_of_a_post_url_finds_the_same_linkbacks(
    client: Client, target: str
) -> None:
    status, headers, body = await get(client, f"/api/linkbacks?target={_q(target)}")
    assert status == 200, body
    assert body["target"] == SEED_POST
    assert ["logistikfokus" in lb["source"] for lb in body["linkbacks"]] == [True]
    assert headers["Access-Control-Allow-Origin"] == "*"


def _q(url: str) -> str:
    from urllib.parse import quote

    return quote(url, safe="")


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("target=https%3A%2F%2Fexample.org%2Fa-post%2F", 404, "unknown_target"),
        ("target=http%3A%2F%2Fwww.naringsbloggen.se%2Finnovation%2Fnothing-here%2F", 404,
         "unknown_target"),
        ("page=0", 400, "bad_page"),
        ("page=abc", 400, "bad_page"),
        ("page=10001", 400, "bad_page"),
        ("protocol=smoke-signal", 400, "bad_protocol"),
        ("since=yesterday", 400, "bad_since"),
        ("since=2017-12-01T10%3A00%3A00", 400, "bad_since"),
    ],
)
async def test_bad_queries_get_a_reason(
    client: Client, query: str, status: int, reason: str
) -> None:
    got, headers, body = await get(client, f"/api/linkbacks?{query}")
    assert (got, body["error"]) == (status, reason)
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_jf2_is_the_shape_webmention_io_serves(client: Client) -> None:
    await add_linkback(client, 1, mention_type="in-reply-to")
    status, headers, body = await get(client, f"/api/linkbacks.jf2?target={_q(SEED_POST)}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/jf2feed+json")
    assert body["type"] == "feed"
    reply, pingback = body["children"]
    assert reply["wm-property"] == "in-reply-to"
    assert reply["in-reply-to"] == SEED_POST
    assert reply["author"] == {"type": "card", "name": "Karin Berg", "photo": "", "url": ""}
    assert reply["content"]["html"] == "<p>&lt;img src=x&gt; &amp; mer</p>"  # text, never markup
    assert pingback["wm-property"] == "mention-of"
    assert pingback["wm-protocol"] == "pingback"


async def test_counts_by_type_and_protocol(client: Client) -> None:
    await add_linkback(client, 1, mention_type="like-of")
    await add_linkback(client, 2, mention_type="like-of")
    await add_linkback(client, 3, mention_type="in-reply-to")
    await add_linkback(client, 4, state=LinkbackState.HELD)  # not shown, not counted
    status, _, body = await get(client, f"/api/counts?target={_q(SEED_POST.rstrip('/'))}")
    assert status == 200
    assert body == {
        "target": SEED_POST,
        "count": 4,
        "type": {"like": 2, "reply": 1, "mention": 1},
        "protocol": {"pingback": 1, "trackback": 0, "webmention": 3},
    }
    status, _, body = await get(client, "/api/counts")
    assert (status, body["error"]) == (400, "missing_target")


async def test_pages_and_since(lb_app: AppFactory) -> None:
    client = await lb_app(extra="[api]\npage_size = 2\n")
    for n in range(1, 4):
        await add_linkback(client, n)
    _, _, first = await get(client, "/api/linkbacks")
    assert len(first["linkbacks"]) == 2
    assert first["next"] == "/api/linkbacks?page=2"
    _, _, second = await get(client, first["next"])
    assert len(second["linkbacks"]) == 2
    assert second["next"] is None
    ids = [lb["id"] for lb in first["linkbacks"] + second["linkbacks"]]
    assert len(set(ids)) == 4
    since = _q((NOW + timedelta(minutes=2)).isoformat())
    _, _, recent = await get(client, f"/api/linkbacks?since={since}")
    assert sorted(lb["title"] for lb in recent["linkbacks"]) == ["Inlägg 2", "Inlägg 3"]
    _, _, pings = await get(client, "/api/linkbacks?protocol=pingback")
    assert ["logistikfokus" in lb["source"] for lb in pings["linkbacks"]] == [True]


async def test_max_page_at_its_edge(lb_app: AppFactory) -> None:
    client = await lb_app(extra="[api]\nmax_page = 3\n")
    status, _, body = await get(client, "/api/linkbacks?page=3")
    assert (status, body["linkbacks"]) == (200, [])
    status, _, body = await get(client, "/api/linkbacks?page=4")
    assert (status, body["error"]) == (400, "bad_page")
    assert body["message"] == "page is a whole number from 1 to 3"


async def test_cache_entries_at_its_edge(lb_app: AppFactory) -> None:
    client = await lb_app(extra="[api]\ncache_entries = 2\n")
    cache = client.app[keys.API_CACHE]
    for n, query in enumerate(("", "?protocol=pingback"), start=1):
        assert (await get(client, f"/api/linkbacks{query}"))[0] == 200
        assert len(cache) == n  # up to the setting, every answer is kept
    assert (await get(client, "/api/linkbacks?protocol=trackback"))[0] == 200
    assert len(cache) == 2  # one past it: the least recently used answer made room


async def test_deleted_lists_what_widgets_must_drop(client: Client) -> None:
    gone = await add_linkback(client, 1)
    refused = await add_linkback(client, 2, state=LinkbackState.HELD)
    await add_linkback(client, 3)
    store = client.app[keys.STORE]
    later = NOW + timedelta(days=1)
    await store.set_state(gone, LinkbackState.DELETED, actor="verifier", reason="410",
                          now=later)
    await store.set_state(refused, LinkbackState.REJECTED, actor="moderator", reason="",
                          now=later)
    await client.app[keys.LIVE].refresh()
    status, _, body = await get(client, f"/api/deleted?since={_q(later.isoformat())}")
    assert status == 200
    assert {(d["id"], d["state"]) for d in body["deleted"]} == {
        (gone, "deleted"), (refused, "rejected")}
    status, _, body = await get(client, "/api/deleted")
    assert (status, body["error"]) == (400, "missing_since")


async def test_etag_and_304_until_the_content_changes(client: Client) -> None:
    url = f"/api/linkbacks?target={_q(SEED_POST)}"
    status, headers, _ = await get(client, url)
    etag = headers["ETag"]
    status, again, _ = await get(client, url, **{"If-None-Match": etag})
    assert status == 304
    assert again["Access-Control-Allow-Origin"] == "*"
    await add_linkback(client, 1)
    status, changed, body = await get(client, url, **{"If-None-Match": etag})
    assert status == 200
    assert changed["ETag"] != etag
    assert len(body["linkbacks"]) == 2


async def test_cors_preflight_and_read_only(client: Client) -> None:
    resp = await client.options("/api/linkbacks", headers={
        "Origin": "https://widget.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in resp.headers["Access-Control-Allow-Headers"]
    resp = await client.post("/api/linkbacks", data=b"x")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"
