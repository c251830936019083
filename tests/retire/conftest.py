"""Settings for the retirement tests: a small TOML written to tmp_path, overlays per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from linkbridge.settings import Settings
from linkbridge.settings_loader import load_settings
from linkbridge.urls import Canonicaliser

BASE_TOML = """
[site]
public_base_url = "http://www.naringsbloggen.se/"
title = "Näringsbloggen"
language = "sv"
timezone = "Europe/Stockholm"
hosts = ["naringsbloggen.se", "https://www.naringsbloggen.se"]
shutdown_at = 2018-02-01T00:00:00+01:00

[[site.blogs]]
path = "/innovation/"
successor = "web"

[[site.blogs]]
path = "/transport/"
successor = "https://www.regeringen.se/transport/"

[[site.blogs]]
path = "/gammal/"
successor = "gone"

[notice]
sv = "Näringsbloggen stänger snart."
en = "Näringsbloggen closes soon."
sv_after = "Näringsbloggen har stängt."
en_after = "Näringsbloggen has closed."
contact = "Frågor: tomas.engholm@regeringskansliet.se"

[successors]
web = "https://www.regeringen.se/naringsdepartementet/"
social = "@naringsdep"

[retire]
allowed_target_hosts = ["regeringen.se", "x.com"]
archive_url_template = "https://web.archive.org/web/2017/{url}"

[[retire.mappings]]
from = "/innovation/om/"
to = "social"

[[retire.mappings]]
from = "/innovation/author/*"
to = "social"

[[retire.mappings]]
from = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
to = "https://www.regeringen.se/innovation/"

[[retire.mappings]]
from = "/innovation/?p=12"
to = "https://www.regeringen.se/p12/"

[[retire.mappings]]
from = "/innovation/trasig/"
to = ""

[[retire.mappings]]
from = "/innovation/borta/"
to = "gone"

[[retire.mappings]]
from = "/innovation/arkiv/*"
to = ""
"""

WEB = "https://www.regeringen.se/naringsdepartementet/"
SOCIAL = "https://x.com/naringsdep"

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Load BASE_TOML (or `base`), with `overlay` TOML merged on top key by key."""
    counter = iter(range(1000))

    def make(overlay: str = "", *, base: str | None = None, mappings: bool = True) -> Settings:
        """`mappings=False` drops BASE_TOML's [[retire.mappings]] (arrays replace, not merge)."""
        if base is None:
            base = BASE_TOML if mappings else BASE_TOML.split("[[retire.mappings]]", maxsplit=1)[0]
        n = next(counter)
        first = tmp_path / f"base-{n}.toml"
        first.write_text(base, encoding="utf-8")
        paths = [first]
        if overlay:
            second = tmp_path / f"overlay-{n}.toml"
            second.write_text(overlay, encoding="utf-8")
            paths.append(second)
        return load_settings(paths)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
def canonicaliser(settings: Settings) -> Canonicaliser:
    return canonicaliser_for(settings)


def canonicaliser_for(settings: Settings) -> Canonicaliser:
    return Canonicaliser.for_site(
        settings.site.public_base_url, settings.site.hosts, settings.site.significant_query_params
    )
