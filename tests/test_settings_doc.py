"""docs/settings.md and the shipped example config list every setting."""

from __future__ import annotations

import itertools
import re
import tomllib
from typing import Any

from linkbridge.settings_doc import render_settings_markdown
from linkbridge.settings_loader import iter_settings
from tests.support import EXAMPLE_CONFIG, ROOT

DOCS = ROOT / "docs" / "settings.md"
EXAMPLE = EXAMPLE_CONFIG
REGENERATE = "regenerate with `python -m linkbridge.settings_doc > docs/settings.md`"


def test_docs_list_every_setting() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [key for key, _, _ in iter_settings() if f"| `{key}` |" not in text]
    assert not missing, f"docs/settings.md lacks {missing}; {REGENERATE}"


def test_docs_match_the_dataclasses() -> None:
    """Defaults and help texts too, not only the key names."""
    assert DOCS.read_text(encoding="utf-8") == render_settings_markdown(), (
        f"docs/settings.md is stale; {REGENERATE}"
    )


def test_render_has_one_row_per_setting() -> None:
    rows = [line for line in render_settings_markdown().splitlines() if line.startswith("| `")]
    assert len(rows) == len(list(iter_settings()))


def test_render_marks_arrays_of_tables_and_required_keys() -> None:
    text = render_settings_markdown()
    assert "## `[[site.blogs]]`" in text
    assert "## `[[retire.mappings]]`" in text
    assert "## `[fetch]`" in text
    assert "| `site.shutdown_at` | date-time with offset | *required* |" in text
    assert '| `retire.feeds_after_shutdown` | one of "farewell", "redirect", "gone" |' in text
    assert "| `fetch.allowed_ports` | array of integers | `[80, 443]` |" in text


def _has_key(node: Any, parts: list[str]) -> bool:
    """True when `parts` is present under `node`; in an array of tables, in some row (the
    example shows every key at least once; a row-only option need not repeat on every row)."""
    if not parts:
        return True
    if isinstance(node, list):
        return any(_has_key(row, parts) for row in node)
    return isinstance(node, dict) and parts[0] in node and _has_key(node[parts[0]], parts[1:])


def test_example_config_sets_every_key() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    missing = [key for key, _, _ in iter_settings() if not _has_key(data, key.split("."))]
    assert not missing, f"config/naringsbloggen.toml lacks {missing} (every key must be present)"


def test_example_config_comments_every_key() -> None:
    """Each `key = value` line has a comment line right above it."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    bare = [
        line
        for prev, line in itertools.pairwise(lines)
        if re.match(r"^[a-z_]+ = ", line) and not prev.startswith("#")
    ]
    assert not bare, f"config/naringsbloggen.toml: keys without a comment above: {bare}"
