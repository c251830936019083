"""The tests' one support package: constants, settings overlays, skip-or-fail for missing tools.

Helpers for one area live in a module here (`admin`, `linkbacks`, `pingback`, `retire`, `serve`,
`verify`, `pg`); fixtures stay in the conftest of the folder that uses them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from linkbridge import keys
from linkbridge.settings import Settings
from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings
from linkbridge.web.connections import server_options


class ManualClock:
    """The tests' clock (a `linkbridge.clock.Clock`): set and advanced by hand, to stand on
    either side of the instant."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("clock: the instant must carry a timezone")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at`."""
        self._at = at.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        self._at += timedelta(seconds=seconds)

ROOT = Path(__file__).resolve().parents[2]
"""The repository."""
EXAMPLE_CONFIG = DEFAULT_CONFIG
EXAMPLE_WXR = ROOT / "config" / "naringsbloggen-innovation.wxr"
FIXTURES = ROOT / "tests" / "fixtures"
PUBLIC_BASE = "http://www.naringsbloggen.se/"
SEED_PATH = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
SEED_POST = PUBLIC_BASE.rstrip("/") + SEED_PATH
"""The example blog's seed post: its permalink (config/naringsbloggen-innovation.wxr)."""
SEED_ID = 2187
"""The seed post's <wp:post_id>."""
BEFORE = datetime.fromisoformat("2017-12-01T12:00:00+01:00")
AFTER = datetime.fromisoformat("2018-03-01T12:00:00+01:00")
IN_CI = os.environ.get("CI", "").lower() == "true"

Client = TestClient[web.Request, web.Application]
AppFactory = Callable[..., Awaitable[Client]]
"""The `lb_app` fixture: `client = await lb_app(at=AFTER, extra="...")`."""


def require(condition: bool, how_to_enable: str) -> None:
    """Skip with a how-to when a tool is missing; in CI (CI=true) that is a failure instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {how_to_enable}")
    pytest.skip(how_to_enable)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Flags for Debian's chromium here: no sandbox as root, no calls home on a closed network."""


def require_chromium() -> str:
    """Debian's chromium and the playwright package, or skip saying how to get them."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    require(Path(path).exists(), "needs Debian's chromium: apt-get install -y chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        require(False, "needs playwright: pip install -e '.[test]'")
    return path


def write_overlay(tmp_path: Path, text: str, name: str = "overlay.toml") -> Path:
    """Write a TOML overlay file."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def base_overlay(tmp_path: Path, ports: tuple[int, ...] = ()) -> str:
    """The overlay every app test uses: its own SQLite file, loopback sources allowed."""
    return (
        f'[store]\nurl = "sqlite:///{tmp_path}/linkbridge.db"\npoll_interval_s = 0.2\n'
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [80, 443, {', '.join(str(p) for p in ports)}]\n"
        "timeout_s = 3.0\nretry_base_s = 0.2\n"
        "[pingback]\nrate_per_min = 10000\n[trackback]\nrate_per_min = 10000\n"
        "[webmention]\nrate_per_min = 10000\n[moderation]\nper_host_daily_cap = 100000\n"
    )


def create_store(path: Path) -> None:
    """An empty SQLite file where a store belongs, as if `serve` or `init` had run (commands
    other than those refuse a missing store); migrations run on its first open."""
    if not path.exists():
        sqlite3.connect(path).close()


def load_test_settings(tmp_path: Path, extra: str = "", ports: tuple[int, ...] = ()) -> Settings:
    """The example config, the test overlay, then `extra` TOML as a third file on top."""
    files = [EXAMPLE_CONFIG, write_overlay(tmp_path, base_overlay(tmp_path, ports))]
    if extra:
        files.append(write_overlay(tmp_path, extra, "extra.toml"))
    create_store(tmp_path / "linkbridge.db")
    return load_settings(files)


def page_linking_to(target: str, title: str = "A page that links") -> str:
    """A realistic HTML page with a link to `target`."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>Vi läste om detta hos Näringsdepartementet: "
        f"<a href='{target}'>Innovationsupphandling på frammarsch</a>, ett bra inlägg.</p>"
        "</article></body></html>"
    )


async def app_server(app: web.Application, settings: Settings) -> TestServer:
    """A started test server for `app` with the options `serve` uses (timeouts, raw bodies).

    Pass it to aiohttp_client: TestServer ignores server options given to its constructor.
    """
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(**server_options(settings))
    return server


def manual_clock(app: web.Application) -> ManualClock:
    """The app's clock as the tests' apps have it (a ManualClock), to move it."""
    clock = app[keys.CLOCK]
    assert isinstance(clock, ManualClock), "this app was not built with a ManualClock"
    return clock
