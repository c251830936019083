"""A stored mapping the config no longer allows is skipped, reported, and stops nothing."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.serve import Served, config_args, run_cli, store_overlay

AFTER_AT = "2018-03-01T12:00:00+01:00"
NARROW = '[retire]\nallowed_target_hosts = ["regeringen.se", "x.com"]\n'


def location(base: str, path: str) -> str | None:
    """The Location of a GET that is not followed."""

    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoFollow)
    try:
        opener.open(base + path, timeout=30)
    except urllib.error.HTTPError as err:
        return err.headers.get("Location")
    return None


def test_a_row_the_config_no_longer_allows_is_skipped_not_fatal(tmp_path: Path) -> None:
    wide = config_args(store_overlay(tmp_path))
    for old, new in (("/innovation/gammal/", "https://twitter.com/naringsdep"),
                     ("/innovation/ny/", "https://www.regeringen.se/ny/")):
        done = run_cli("redirects", "map", *wide, old, new)
        assert done.returncode == 0, done.stderr
    narrow = config_args(store_overlay(tmp_path, NARROW, "narrow.toml"))

    lint = run_cli("redirects", "lint", *narrow)
    assert lint.returncode == 1
    assert "stored mapping /innovation/gammal -> 'https://twitter.com/naringsdep' skipped" \
        in lint.stdout
    assert "twitter.com" in lint.stdout
    checked = run_cli("check-config", *narrow, "--store")
    assert checked.returncode == 1
    assert "1 of 2 stored mappings are skipped" in checked.stdout

    server = Served(*narrow, "--at", AFTER_AT)
    try:
        server.wait_started()
        status, ready = server.get_json("/readyz")
        assert status == 200
        assert ready["status"] == "degraded"
        assert len(ready["reasons"]) == 1
        assert ready["reasons"][0].startswith("stored mapping /innovation/gammal ")
        # The good row applies; the skipped one falls back to its sub-blog's rule.
        assert location(server.base, "/innovation/ny/") == "https://www.regeringen.se/ny/"
        assert location(server.base, "/innovation/gammal/") != "https://twitter.com/naringsdep"
        # Live updates keep flowing around the bad row.
        done = run_cli("redirects", "map", *narrow, "/innovation/senare/",
                       "https://www.regeringen.se/senare/")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 30
        while location(server.base, "/innovation/senare/") != "https://www.regeringen.se/senare/":
            assert time.monotonic() < deadline, "the live update never arrived"
            time.sleep(0.1)
    finally:
        assert server.stop() == 0
    warnings = [e for e in server.events() if e.get("event") == "stored_mapping_skipped"]
    assert len(warnings) == 1, "one warning per row, not one per refresh"
    assert not [e for e in server.events() if e.get("event") == "live_state_refresh_failed"]
