"""`linkbridge export --json` and `import json` as a user runs them: the whole store out, into a
new directory, out again unchanged; errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import EXAMPLE_WXR
from tests.support.serve import config_args, run_cli, store_overlay

pytestmark = pytest.mark.slow


def test_export_import_round_trip(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = config_args(store_overlay(tmp_path / "a"))
    second = config_args(store_overlay(tmp_path / "b"))
    imported = run_cli("import", "wxr", *first, str(EXAMPLE_WXR))
    assert imported.returncode == 0, imported.stderr
    mapped = run_cli("redirects", "map", *first, "/innovation/2013/10/gammal/",
                     "https://www.regeringen.se/")
    assert mapped.returncode == 0, mapped.stderr
    out = tmp_path / "export.json"
    done = run_cli("export", "--json", "--out", str(out), *first)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "linkbridge-export"
    assert any("logistikfokus" in r["source_url"] for r in document["tables"]["linkbacks"])

    loaded = run_cli("import", "json", *second, str(out))
    assert loaded.returncode == 0, loaded.stderr
    again = run_cli("export", "--json", *second)
    assert again.returncode == 0, again.stderr
    tables = json.loads(again.stdout)["tables"]
    for name, rows in document["tables"].items():
        if name != "meta":
            assert tables[name] == rows, name

    twice = run_cli("import", "json", *second, str(out))
    assert twice.returncode == 1
    assert twice.stderr.strip() == (
        "import json: the store is not empty: import into a new store")


def test_import_json_errors_are_one_line(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    missing = run_cli("import", "json", *cfg, str(tmp_path / "nope.json"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("import json: cannot read")
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}', encoding="utf-8")
    done = run_cli("import", "json", *cfg, str(junk))
    assert done.stderr.strip().endswith("is not a linkbridge export")
    assert len(done.stderr.strip().splitlines()) == 1
