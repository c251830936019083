"""The retirement CLI against real SQLite files: redirects check/import/export, check-successors."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.cli import main
from linkbridge.retire.explain import explain_url
from linkbridge.retire.table import RedirectTable
from linkbridge.settings_loader import DEFAULT_CONFIG
from linkbridge.urls import Canonicaliser
from tests.support import AFTER, SEED_PATH, SEED_POST, AppFactory, load_test_settings
from tests.support.retire import INSTANT, ONE_SECOND, SOCIAL, WEB, raw_request

Capture = pytest.CaptureFixture[str]


def config_args(tmp_path: Path) -> list[str]:
    """The files load_test_settings / lb_app wrote: example, test overlay, extra overlay."""
    args = ["--config", str(DEFAULT_CONFIG), "--config", str(tmp_path / "overlay.toml")]
    if (tmp_path / "extra.toml").exists():
        args += ["--config", str(tmp_path / "extra.toml")]
    return args


def run_cli(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    """linkbridge.cli.main in this process; (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fields(out: str) -> dict[str, str]:
    """`redirects check` prints "     name: value" lines."""
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


# ------------------------------------------------------------------ redirects check


def test_check_prints_what_a_url_does_on_both_sides(tmp_path: Path, capsys: Capture) -> None:
    load_test_settings(tmp_path)
    cfg = config_args(tmp_path)
    before = (INSTANT - ONE_SECOND).isoformat()
    code, out, _ = run_cli(capsys, "redirects", "check", SEED_POST, "--at", before, *cfg)
    assert code == 0
    got = fields(out)
    assert (got["phase"], got["outcome"], got["status"]) == ("before", "not_found", "404")

    for at in (INSTANT, INSTANT + ONE_SECOND):
        code, out, _ = run_cli(
            capsys, "redirects", "check", SEED_POST, "--at", at.isoformat(), *cfg
        )
        assert code == 0
        got = fields(out)
        assert got["phase"] == "after"
        assert got["outcome"] == "redirect"
        assert got["status"] == "301"
        assert got["location"] == WEB
        assert got["rule"] == "prefix"
        assert got["matched"] == "/innovation/*"


def test_check_explains_the_exact_instant_given(tmp_path: Path, capsys: Capture) -> None:
    """Regression: --at started a running clock, so 1 µs before the instant read as "after"."""
    load_test_settings(tmp_path)
    cfg = config_args(tmp_path)
    just_before = INSTANT - timedelta(microseconds=1)
    code, out, _ = run_cli(
        capsys, "redirects", "check", SEED_POST, "--at", just_before.isoformat(), *cfg
    )
    assert code == 0
    got = fields(out)
    assert got["phase"] == "before"
    assert datetime.fromisoformat(got["at"]) == just_before


def test_check_with_an_origin_says_proxy_before(tmp_path: Path, capsys: Capture) -> None:
    load_test_settings(tmp_path, '[site]\norigin_url = "http://127.0.0.1:8081/"\n')
    code, out, _ = run_cli(
        capsys,
        "redirects",
        "check",
        SEED_POST,
        "--at",
        (INSTANT - ONE_SECOND).isoformat(),
        *config_args(tmp_path),
    )
    assert code == 0
    assert fields(out)["outcome"] == "proxy"


@pytest.mark.parametrize(
    ("url", "location", "rule"),
    [
        (SEED_POST, WEB, "prefix"),
        ("https://naringsbloggen.se" + SEED_PATH.upper(), WEB, "prefix"),
        ("http://www.naringsbloggen.se/", WEB, "exact"),
        ("http://www.naringsbloggen.se/innovation/om/", SOCIAL, "exact"),
        ("https://www.naringsbloggen.se/innovation/author/annieloof/", SOCIAL, "prefix"),
        ("http://www.naringsbloggen.se/innovation/2013/10/", WEB, "prefix"),
        ("http://www.naringsbloggen.se/innovation/category/innovationsstrategi/", WEB, "prefix"),
        ("http://www.naringsbloggen.se/innovation/?p=2187", WEB, "prefix"),
        ("http://www.naringsbloggen.se/transporter-och-infrastruktur/x/", WEB, "prefix"),
        ("http://www.naringsbloggen.se/okand-blogg/", WEB, "default"),
    ],
)
def test_check_json_for_every_shape(
    tmp_path: Path, capsys: Capture, url: str, location: str, rule: str
) -> None:
    load_test_settings(tmp_path)
    code, out, _ = run_cli(
        capsys,
        "redirects",
        "check",
        url,
        "--json",
        "--at",
        AFTER.isoformat(),
        *config_args(tmp_path),
    )
    assert code == 0
    got = json.loads(out[out.index("{") :])
    assert (got["outcome"], got["status"], got["location"], got["rule"]) == (
        "redirect",
        301,
        location,
        rule,
    )


def test_check_names_endpoints_feeds_and_undecodable(tmp_path: Path, capsys: Capture) -> None:
    load_test_settings(tmp_path)
    cfg, at = config_args(tmp_path), AFTER.isoformat()
    for url, outcome in (
        ("http://www.naringsbloggen.se/xmlrpc.php", "endpoint"),
        ("http://www.naringsbloggen.se/innovation/feed/", "feed"),
        ("http://www.naringsbloggen.se/%ff/", "bad_request"),
        ("http://evil.example/innovation/", "foreign"),
    ):
        code, out, _ = run_cli(capsys, "redirects", "check", url, "--at", at, *cfg)
        assert code == (1 if outcome in ("bad_request", "foreign") else 0), url
        assert fields(out)["outcome"] == outcome, url


# ------------------------------------------------------------------ import / export

GOOD_CSV = (
    "old,new,note\n"
    f"{SEED_POST},https://www.regeringen.se/innovation/,seed post\n"
    "/innovation/om/,social,\n"
    "/innovation/arkiv/*,gone,\n"
    "/innovation/olost/,,ask the ministry\n"
    '"/transporter-och-infrastruktur/v%C3%A4gar/%E2%80%93-2/",web,"quoted, with comma"\n'
    "HTTPS://NARINGSBLOGGEN.SE/INNOVATION/OM,https://x.com/naringsdep,\n"
)


def test_import_then_export_round_trips(tmp_path: Path, capsys: Capture) -> None:
    load_test_settings(tmp_path)
    cfg = config_args(tmp_path)
    first = tmp_path / "mappings.csv"
    first.write_text(GOOD_CSV, encoding="utf-8")
    code, out, _ = run_cli(capsys, "redirects", "import", str(first), *cfg)
    assert code == 0
    assert "imported 5 mappings" in out  # the two /innovation/om rows are one, the last wins

    code, exported, _ = run_cli(capsys, "redirects", "export", *cfg)
    assert code == 0
    assert exported.startswith("old,new,note")
    assert "https://x.com/naringsdep" in exported

    second = tmp_path / "exported.csv"
    second.write_text(exported, encoding="utf-8")
    code, _, _ = run_cli(capsys, "redirects", "import", str(second), *cfg)
    assert code == 0
    code, again, _ = run_cli(capsys, "redirects", "export", *cfg)
    assert again == exported

    code, out, _ = run_cli(capsys, "redirects", "check", SEED_POST, "--at", AFTER.isoformat(), *cfg)
    assert fields(out)["location"] == "https://www.regeringen.se/innovation/"
    assert fields(out)["rule"] == "exact"
    code, out, _ = run_cli(
        capsys,
        "redirects",
        "check",
        "http://www.naringsbloggen.se/innovation/olost/",
        "--at",
        AFTER.isoformat(),
        *cfg,
    )
    assert (fields(out)["outcome"], fields(out)["rule"]) == ("gone", "unresolved")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("old,new\n/innovation/a/,web\n/innovation/b/,https://evil.example/\n", 3),
        ("old,new\n/innovation/a/,web\n\n# note\n/innovation/*/x/,web\n", 5),
        ("/innovation/a/,web\n/innovation/b/\n", 2),
        ("old,new\n/a/,web\nhttp://evil.example/a/,web\n", 3),
        ("old,new\n/a/,javascript:alert(1)\n", 2),
        ('old,new\n/a/,web\n"/b/,web\n', 3),
    ],
    ids=["host-not-allowed", "bad-star", "one-column", "foreign-source", "scheme", "bad-quote"],
)
def test_import_with_a_bad_row_names_its_line_and_imports_nothing(
    tmp_path: Path, capsys: Capture, body: str, line: int
) -> None:
    load_test_settings(tmp_path)
    cfg = config_args(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    code, out, err = run_cli(capsys, "redirects", "import", str(bad), *cfg)
    assert code == 1
    assert f"line {line}" in err
    assert "imported" not in out
    code, exported, _ = run_cli(capsys, "redirects", "export", *cfg)
    assert code == 0
    assert exported.strip() == "old,new"


async def test_an_import_reaches_the_running_app_without_a_restart(
    lb_app: AppFactory, tmp_path: Path, capsys: Capture
) -> None:
    client = await lb_app(at=AFTER)
    live = client.app[keys.LIVE]
    version = live.snapshot.version
    csv_file = tmp_path / "one.csv"
    csv_file.write_text(f"{SEED_POST},https://www.regeringen.se/innovation/\n", encoding="utf-8")
    code = await asyncio.to_thread(
        main, ["redirects", "import", str(csv_file), *config_args(tmp_path)]
    )
    assert code == 0
    for _ in range(400):  # the version poll (poll_interval_s = 0.2); nothing timed
        if live.snapshot.version != version:
            break
        await asyncio.sleep(0.05)
    resp = await client.get(SEED_PATH, allow_redirects=False)
    assert resp.headers["Location"] == "https://www.regeringen.se/innovation/"


# ------------------------------------------------------------------ check-successors


def loopback_overlay(port: int, targets: dict[str, str] | None = None, retire: str = "") -> str:
    """Every successor on the loopback stand-in: nothing outside 127.0.0.0/8 is fetched.

    `targets` maps old paths to stand-in paths (default: the seed post to /successor and the
    about page to /moved-away); `retire` adds [retire] lines.
    """
    base = f"http://127.0.0.1:{port}"
    targets = targets or {SEED_PATH: "/successor", "/innovation/om/": "/moved-away"}
    rows = "".join(
        f'[[retire.mappings]]\nfrom = "{old}"\nto = "{base}{new}"\n' for old, new in targets.items()
    )
    return (
        f'[successors]\nweb = "{base}/successor"\nsocial = "{base}/successor"\n'
        '[[site.blogs]]\npath = "/innovation/"\ntitle = "Innovationsbloggen"\nsuccessor = "web"\n'
        f'[retire]\nallowed_target_hosts = ["127.0.0.1"]\n{retire}{rows}'
    )


async def test_check_successors_reports_the_404_and_exits_1(
    tmp_path: Path, capsys: Capture, successor: TestServer
) -> None:
    port = successor.port
    assert port is not None
    settings = load_test_settings(tmp_path, loopback_overlay(port), ports=(port,))
    table = RedirectTable.build(settings, Canonicaliser.for_settings(settings.site))
    assert all(t.startswith("http://127.0.0.1:") for t in table.targets())  # loopback only
    cfg = config_args(tmp_path)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["check-successors", *cfg])
    out = capsys.readouterr().out
    assert code == 1
    rows = {
        parts[2]: parts[:2]
        for parts in (line.split() for line in out.splitlines())
        if parts and parts[0] in ("ok", "BAD")
    }
    assert rows == {
        f"http://127.0.0.1:{port}/successor": ["ok", "200"],
        f"http://127.0.0.1:{port}/moved-away": ["BAD", "404"],
    }

    capsys.readouterr()
    code = await asyncio.to_thread(main, ["check-successors", "--json", *cfg])
    out = capsys.readouterr().out
    results = json.loads(out[out.index("[") :])
    bad = [r["url"] for r in results if not r["ok"]]
    assert bad == [f"http://127.0.0.1:{port}/moved-away"]
    assert code == 1


async def test_check_successors_exits_0_when_all_answer_200(
    tmp_path: Path, capsys: Capture, successor: TestServer
) -> None:
    port = successor.port
    assert port is not None
    overlay = loopback_overlay(port, {SEED_PATH: "/successor"})
    load_test_settings(tmp_path, overlay, ports=(port,))
    code = await asyncio.to_thread(main, ["check-successors", *config_args(tmp_path)])
    assert code == 0


# ------------------------------------------------------------------ check agrees with the app

AGREEMENT_PATHS = [
    SEED_PATH,
    SEED_PATH.upper(),
    "/",
    "/innovation/om/",
    "/innovation/author/annieloof/",
    "/okand-blogg/x/",
    "/%ff/",
    "/innovation/x/trackback/",
    "/innovation/wp-trackback.php?p=2187",
    "/innovation/xmlrpc.php",
    "/xmlrpc.php",
    "/XMLRPC.PHP",
    "/notice",
    "/Notice",
    "/notice/",
    "/webmention/abc123",
    "/sitemap-1.xml",
    "/robots.txt",
    "/admin/redirects",
    "/innovation/feed/",
    "/innovation/2013/10/feed/",
]


@pytest.mark.parametrize("phase_at", [INSTANT - ONE_SECOND, INSTANT], ids=["before", "at"])
async def test_redirects_check_agrees_with_the_running_app(
    lb_app: AppFactory, phase_at: Any
) -> None:
    client = await lb_app(at=phase_at)
    settings, live = client.app[keys.SETTINGS], client.app[keys.LIVE]
    mappings = await client.app[keys.STORE].list_mappings()
    for path in AGREEMENT_PATHS:
        said = explain_url(
            settings, live.canonicaliser, mappings, "http://www.naringsbloggen.se" + path, phase_at,
            live.snapshot.registry,
        )
        resp = await raw_request(client, "GET", path)
        if said["status"] is not None:
            assert resp.status == said["status"], (path, said)
            assert resp.headers.get("Location") == said.get("location"), (path, said)
        else:  # linkbridge's own endpoints and feeds: never a retirement redirect
            assert said["outcome"] in ("endpoint", "feed", "proxy"), (path, said)
            assert resp.headers.get("Location") not in (WEB, SOCIAL), (path, said)


async def test_check_successors_follows_check_max_redirects_hops_and_no_more(
    tmp_path: Path, capsys: Capture, successor: TestServer
) -> None:
    port = successor.port
    assert port is not None
    base = f"http://127.0.0.1:{port}"
    overlay = loopback_overlay(
        port,
        {SEED_PATH: "/successor", "/innovation/om/": "/hop/2", "/innovation/2013/10/": "/hop/3"},
        retire="check_max_redirects = 2\n",
    )
    load_test_settings(tmp_path, overlay, ports=(port,))
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["check-successors", "--json", *config_args(tmp_path)])
    out = capsys.readouterr().out
    results = {r["url"]: r for r in json.loads(out[out.index("[") :])}
    assert code == 1
    assert results[f"{base}/hop/2"]["ok"] is True  # exactly at the limit
    assert f"via {base}/hop/0" in results[f"{base}/hop/2"]["detail"]
    assert results[f"{base}/hop/3"]["ok"] is False  # one past it
    assert results[f"{base}/successor"]["ok"] is True


def test_map_and_unmap_one_path(tmp_path: Path, capsys: Capture) -> None:
    load_test_settings(tmp_path)
    cfg = config_args(tmp_path)
    old = "http://www.naringsbloggen.se/innovation/en-sida-som-folk-hittar/"
    code, out, _ = run_cli(capsys, "redirects", "map", old, "social", *cfg)
    assert (code, out.strip()) == (0, "mapped /innovation/en-sida-som-folk-hittar -> social")
    code, out, _ = run_cli(capsys, "redirects", "check", old, "--at", AFTER.isoformat(), *cfg)
    assert (fields(out)["location"], fields(out)["rule"]) == ("https://x.com/naringsdep", "exact")

    code, _, err = run_cli(capsys, "redirects", "map", old, "https://evil.example/", *cfg)
    assert code == 1
    assert "evil.example" in err

    code, out, _ = run_cli(capsys, "redirects", "unmap", old, *cfg)
    assert (code, out.strip()) == (0, "unmapped /innovation/en-sida-som-folk-hittar")
    code, out, _ = run_cli(capsys, "redirects", "check", old, "--at", AFTER.isoformat(), *cfg)
    assert fields(out)["rule"] == "prefix"
    code, _, _ = run_cli(capsys, "redirects", "unmap", old, *cfg)
    assert code == 1


async def test_check_successors_has_its_own_limits_for_one_host(
    tmp_path: Path, capsys: Capture, successor: TestServer
) -> None:
    """200 targets on one host pass although the linkback fetch limits allow 30 a minute."""
    port = successor.port
    assert port is not None
    targets = {f"/innovation/gammal-{i}/": f"/hop/0?sida={i}" for i in range(200)}
    overlay = loopback_overlay(port, targets) + (
        "[fetch]\nper_host_rate_per_min = 30\nper_host_concurrency = 2\n"
    )
    load_test_settings(tmp_path, overlay, ports=(port,))
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["check-successors", *config_args(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1] == "201 targets: 201 answer 200, none fails"


async def test_check_successors_summary_counts_failures(
    tmp_path: Path, capsys: Capture, successor: TestServer
) -> None:
    port = successor.port
    assert port is not None
    overlay = loopback_overlay(port).replace(
        "[successors]\n", "[successors]\ncheck_concurrency = 1\n"
    )
    load_test_settings(tmp_path, overlay, ports=(port,))
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["check-successors", *config_args(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith("BAD  404")  # failures first
    assert lines[-1] == "2 targets: 1 answer 200, 1 do not (1 answered 404)"
