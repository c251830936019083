"""Webhooks: held and deleted linkbacks POSTed as signed JSON from the job queue, with retries."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.model import LinkbackState, WebhookDelivery
from linkbridge.moderation.webhook import SIGNATURE_HEADER, sign
from tests.support import SEED_POST, Client, manual_clock
from tests.support.admin import linking_page, login, pingback_body, source_app, wait_for

AdminApp = Callable[..., Awaitable[Client]]
SourceServer = Callable[[web.Application], Awaitable[TestServer]]
SECRET = "a webhook secret"


class Receiver:
    """A loopback webhook receiver answering with scripted statuses (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        self.calls.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="thanks")


async def _start(
    admin_app: AdminApp,
    source_server: SourceServer,
    receiver: Receiver,
    pages: dict[str, tuple[int, str]],
    extra: str = "",
) -> tuple[Client, str]:
    hook = await source_server(receiver.app)
    source = await source_server(source_app(pages))
    client = await admin_app(
        ports=(source.port,),
        extra=(
            f'[webhook]\nurl = "http://127.0.0.1:{hook.port}/hook"\nsecret = "{SECRET}"\n'
            f"retry_base_s = 60.0\n{extra}"
        ),
    )
    return client, f"http://127.0.0.1:{source.port}"


async def _delivery(client: Client, delivery_id: int = 1) -> WebhookDelivery | None:
    return await client.app[keys.STORE].get_webhook_delivery(delivery_id)


def _verified(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    assert headers["Content-Type"] == "application/json"
    data: dict[str, Any] = json.loads(body)
    return data


async def test_held_pingback_is_delivered_signed_after_a_retry(
    admin_app: AdminApp, source_server: SourceServer
) -> None:
    receiver = Receiver([500])
    pages = {"/post/": (200, linking_page("Webhookkällan"))}
    client, base = await _start(admin_app, source_server, receiver, pages)
    response = await client.post(
        "/xmlrpc.php", data=pingback_body(f"{base}/post/"), headers={"Content-Type": "text/xml"}
    )
    assert "Faultcode" not in await response.text()
    store = client.app[keys.STORE]
    [lb] = await store.list_linkbacks(states=[LinkbackState.HELD])

    # first attempt: the receiver answers 500; the delivery waits for its backoff
    first = await wait_for(lambda: _attempted(client, 1), "the first attempt")
    assert (first.status, first.last_error) == ("pending", "webhook: answered 500")
    assert len(receiver.calls) == 1
    assert await client.app[keys.WORKER].run_once() is False  # not due before the backoff
    manual_clock(client.app).advance(60)
    delivered = await wait_for(lambda: _attempted(client, 2), "the second attempt")
    assert delivered.status == "delivered"
    assert delivered.delivered_at == client.app[keys.CLOCK].now()
    await jobs_done(store)

    # both attempts carried the same signed body
    assert receiver.calls[0][1] == receiver.calls[1][1]
    headers, body = receiver.calls[1]
    data = _verified(headers, body)
    assert headers["X-Linkbridge-Event"] == "linkback.held"
    assert data["event"] == "linkback.held"
    assert data["linkback"]["id"] == lb.id
    assert data["linkback"]["source_url"] == f"{base}/post/"
    assert data["linkback"]["title"] == "Webhookkällan"
    assert data["linkback"]["protocol"] == "pingback"

    # the delivery log page
    await login(client)
    page = await (await client.get("/admin/webhooks")).text()
    assert "linkback.held" in page
    assert "delivered" in page


async def _attempted(client: Client, attempts: int) -> WebhookDelivery | None:
    delivery = await _delivery(client)
    return delivery if delivery is not None and delivery.attempts >= attempts else None


async def test_delivery_is_given_up_after_max_attempts(
    admin_app: AdminApp, source_server: SourceServer
) -> None:
    receiver = Receiver([500, 503, 500])
    pages = {"/p/": (200, linking_page("Ständigt fel"))}
    client, base = await _start(
        admin_app, source_server, receiver, pages, extra="max_attempts = 2\n"
    )
    await client.post(
        "/xmlrpc.php", data=pingback_body(f"{base}/p/"), headers={"Content-Type": "text/xml"}
    )
    await wait_for(lambda: _attempted(client, 1), "the first attempt")
    manual_clock(client.app).advance(60)
    failed = await wait_for(lambda: _attempted(client, 2), "the last attempt")
    assert (failed.status, failed.last_error) == ("failed", "webhook: answered 503")
    await jobs_done(client.app[keys.STORE])
    manual_clock(client.app).advance(3600)
    assert await client.app[keys.WORKER].run_once() is False
    assert len(receiver.calls) == 2


async def test_deleted_webmention_notifies(
    admin_app: AdminApp, source_server: SourceServer
) -> None:
    receiver = Receiver([])
    pages = {"/mention/": (200, linking_page("Ett omnämnande"))}
    client, base = await _start(
        admin_app, source_server, receiver, pages, extra="[webmention]\nrepeat_window_s = 0.0\n"
    )
    store = client.app[keys.STORE]
    form = {"source": f"{base}/mention/", "target": SEED_POST}
    assert (await client.post("/webmention", data=form)).status == 201
    [held] = await wait_for(
        lambda: store.list_linkbacks(states=[LinkbackState.HELD]), "verification"
    )
    await store.set_state(
        held.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="",
        now=client.app[keys.CLOCK].now(),
    )
    pages["/mention/"] = (410, "gone")
    assert (await client.post("/webmention", data=form)).status == 202  # an update
    await wait_for(lambda: store.list_linkbacks(states=[LinkbackState.DELETED]), "deletion")
    deliveries = await wait_for(lambda: _all_delivered(client, 2), "both deliveries")
    assert [d.event for d in deliveries] == ["linkback.deleted", "linkback.held"]
    events = [_verified(h, b)["event"] for h, b in receiver.calls]
    assert sorted(events) == ["linkback.deleted", "linkback.held"]


async def _all_delivered(client: Client, count: int) -> list[WebhookDelivery] | None:
    rows = await client.app[keys.STORE].list_webhook_deliveries(limit=10)
    done = [d for d in rows if d.status == "delivered"]
    return rows if len(rows) == count and len(done) == count else None


async def test_no_webhook_url_means_no_deliveries(
    admin_app: AdminApp, source_server: SourceServer
) -> None:
    source = await source_server(source_app({"/q/": (200, linking_page("Tyst"))}))
    client = await admin_app(ports=(source.port,))
    await client.post(
        "/xmlrpc.php",
        data=pingback_body(f"http://127.0.0.1:{source.port}/q/"),
        headers={"Content-Type": "text/xml"},
    )
    assert len(await client.app[keys.STORE].list_linkbacks(states=[LinkbackState.HELD])) == 1
    assert await client.app[keys.STORE].list_webhook_deliveries(limit=10) == []


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"event": "linkback.held"}'
    assert sign("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign("k", body) != sign("k", body + b" ")


async def jobs_done(store: Any) -> None:
    """The queue empties: a job is completed in its own commit right after the delivery's
    status is written, so a test reading both may come between them."""

    async def empty() -> bool:
        return bool(await store.count_jobs() == 0)

    await wait_for(empty, "the delivery job to be completed")
