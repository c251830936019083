"""Feed request log lines are sampled (`feeds.log_sample_rate`); server errors never are."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from linkbridge import keys
from linkbridge.errors import ConfigError
from linkbridge.settings_loader import load_settings
from linkbridge.web.middleware import ContextRoutes, RequestContext
from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support.serve import Served, config_args, store_overlay

BEFORE_AT = "2017-12-01T12:00:00+01:00"
POLLS = 20
FEED_PATHS = ("/feed/", "/innovation/feed/atom/")


@pytest.mark.parametrize(("rate", "logged"), [(0.0, 0), (1.0, POLLS * len(FEED_PATHS))])
def test_feed_lines_at_the_edges_of_the_rate(tmp_path: Path, rate: float, logged: int) -> None:
    """0.0 writes no feed line, 1.0 one per poll; other requests are logged either way."""
    overlay = store_overlay(tmp_path, f"[feeds]\nlog_sample_rate = {rate}\n")
    server = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        server.wait_started()
        for _ in range(POLLS):
            for path in FEED_PATHS:
                with urllib.request.urlopen(server.base + path, timeout=30) as resp:
                    assert resp.status == 200
        assert server.get_json("/healthz")[0] == 200
    finally:
        assert server.stop() == 0
    lines = [e for e in server.events() if e["event"] == "request_finished"]
    assert len([e for e in lines if e["path"] in FEED_PATHS]) == logged
    assert [e["path"] for e in lines if e["path"] == "/healthz"] == ["/healthz"]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0.0", None),
        ("1.0", None),
        ("1.01", "feeds.log_sample_rate: expected a share between 0 and 1"),
        ("-0.01", "feeds.log_sample_rate: must not be negative"),
    ],
)
def test_rate_is_a_share(tmp_path: Path, value: str, error: str | None) -> None:
    overlay = store_overlay(tmp_path, f"[feeds]\nlog_sample_rate = {value}\n")
    if error is None:
        assert load_settings([EXAMPLE, overlay]).feeds.log_sample_rate == float(value)
    else:
        with pytest.raises(ConfigError, match=error):
            load_settings([EXAMPLE, overlay])


def _app(answer: web.StreamResponse | None) -> web.Application:
    """One route inside the real request context, sampled at 0: a 5xx must still be logged."""

    async def handler(request: web.Request) -> web.StreamResponse:
        request[keys.LOG_SAMPLE_RATE] = 0.0
        if answer is None:
            raise RuntimeError("feed: broken on purpose")
        return answer

    app = web.Application()
    ContextRoutes(app.router, RequestContext(())).add_get("/feed/", handler)
    return app


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (None, 500),  # an unexpected exception
        (web.Response(status=503, text="down\n"), 503),
        (web.Response(status=500, text="broken\n"), 500),
        (web.Response(status=499, text="edge\n"), None),  # below 500: sampled away
        (web.Response(status=200, text="ok\n"), None),
    ],
)
async def test_server_errors_are_logged_whatever_the_rate(
    answer: web.StreamResponse | None, status: int | None
) -> None:
    async with TestClient(TestServer(_app(answer))) as client:
        with structlog.testing.capture_logs() as logs:
            resp = await client.get("/feed/")
            await resp.read()
    finished = [e for e in logs if e["event"] == "request_finished"]
    if status is None:
        assert finished == []
    else:
        assert resp.status == status
        assert [e["status"] for e in finished] == [status]
