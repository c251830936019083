"""Redirect targets are read as browsers read them (WHATWG URL), by every door into the table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from linkbridge.errors import ConfigError
from linkbridge.retire.table import BadRuleError, TargetPolicy
from linkbridge.settings_loader import load_settings
from linkbridge.urls import browser_host
from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support.serve import config_args, run_cli, store_overlay

ALLOWED = TargetPolicy(["regeringen.se"])
HOSTILE = [
    "https://evil.example\\.regeringen.se/",  # a browser goes to evil.example
    "https://evil.example\\@www.regeringen.se/",
    "https:/\\evil.example/www.regeringen.se/",
    "https://www.regeringen.se\t.evil.example/",
    "https://www.regeringen.se\n/",
    "HTTPS://WWW.REGERINGEN.SE/",  # does not round-trip: written as a browser would send it
    "https://www.regeringen.se:443/",
    "https://user:pw@www.regeringen.se/",
    "javascript://www.regeringen.se/%0aalert(1)",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_targets_are_refused_by_the_one_check(url: str) -> None:
    with pytest.raises(BadRuleError):
        ALLOWED.check_url(url)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://www.regeringen.se/sveriges-regering/naringsdepartementet/", "www.regeringen.se"),
        ("https://regeringen.se/?q=1#x", "regeringen.se"),
        ("http://[::1]/", "[::1]"),
    ],
)
def test_plain_targets_pass_with_the_host_a_browser_goes_to(url: str, host: str) -> None:
    assert browser_host(url) == host


def test_the_allowed_host_check_uses_the_browser_host() -> None:
    assert ALLOWED.check_url("https://www.regeringen.se/x/") == "https://www.regeringen.se/x/"
    with pytest.raises(BadRuleError, match=r"evil\.example"):
        ALLOWED.check_url("https://evil.example\\.regeringen.se/")


@pytest.mark.parametrize("url", HOSTILE[:3])
def test_config_refuses_a_hostile_mapping_target(tmp_path: Path, url: str) -> None:
    overlay = tmp_path / "bad.toml"
    toml_url = url.replace("\\", "\\\\")
    overlay.write_text(
        f'[[retire.mappings]]\nfrom = "/innovation/x/"\nto = "{toml_url}"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"retire\.mappings\[\d+\]\.to"):
        load_settings([EXAMPLE, overlay])


async def test_csv_import_and_cli_map_refuse_a_hostile_target(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    target = HOSTILE[0]
    csv_file = tmp_path / "mappings.csv"
    csv_file.write_text(f"old,new\r\n/innovation/x/,{target}\r\n", encoding="utf-8")
    imported = await asyncio.to_thread(run_cli, "redirects", "import", str(csv_file), *cfg)
    assert imported.returncode != 0
    assert "evil.example/.regeringen.se" in imported.stderr
    mapped = await asyncio.to_thread(run_cli, "redirects", "map", "/innovation/x/", target, *cfg)
    assert mapped.returncode != 0
    exported = await asyncio.to_thread(run_cli, "redirects", "export", *cfg)
    assert "evil" not in exported.stdout


@pytest.mark.parametrize(
    "key", ["[successors]\nweb", "[retire]\nsuccessor_feed_url", "[successors]\nsocial"]
)
def test_config_refuses_a_hostile_successor(tmp_path: Path, key: str) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(f'{key} = "https://evil.example\\\\.regeringen.se/"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="evil"):
        load_settings([EXAMPLE, overlay])
