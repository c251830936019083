"""`redirects import` takes CSV as spreadsheets write it (real CLI, files in tests/fixtures)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.serve import config_args, run_cli, store_overlay

FIXTURES = ROOT / "tests" / "fixtures" / "csv"
EXPECTED = [
    ["/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
     "https://www.regeringen.se/artiklar/2016/innovationsupphandling/",
     "Flyttad; se regeringen.se"],
    ["/livsmedelsstrategin/om", "gone", "Sidan är borttagen"],
    ["/transport/2012/05/hoghastighetsbanor",
     "https://www.regeringen.se/sveriges-regering/naringsdepartementet/",
     "Höghastighetsbanor, för äldre inlägg"],
    ["/digitalt-forst/*", "social", ""],
]


def exported(cfg: list[str]) -> list[list[str]]:
    done = run_cli("redirects", "export", *cfg)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    return sorted(rows[1:], key=lambda r: (r[0].endswith("*"), r[0]))


@pytest.mark.parametrize("name", ["excel-csv-utf8-sv.csv", "excel-csv-windows1252-sv.csv",
                                  "excel-unicode-text.txt", "libreoffice-utf8.csv"])
def test_spreadsheet_files_import_the_same_table(tmp_path: Path, name: str) -> None:
    cfg = config_args(store_overlay(tmp_path))
    done = run_cli("redirects", "import", *cfg, "--by", "test", str(FIXTURES / name))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported 4 mappings: 4 added, 0 changed, 0 removed, 0 unchanged"
    assert exported(cfg) == EXPECTED


def test_every_bad_row_is_reported_and_nothing_imported(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    path = FIXTURES / "bad-rows.csv"
    done = run_cli("redirects", "import", *cfg, "--by", "test", str(path))
    assert done.returncode == 1
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith(str(path))]
    assert [ln.split(": ")[1] for ln in lines] == [
        "line 3", "line 4", "line 6", "line 7", "4 bad rows; nothing imported",
    ]
    assert "not a path or an absolute URL" in lines[0]
    assert "evil.example" in lines[1]
    assert "csvio" not in done.stderr
    assert exported(cfg) == []


def test_merge_by_default_replace_and_dry_run(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    first = tmp_path / "first.csv"
    first.write_text("/a/,web\n/b/,social\n/c/,gone\n", encoding="utf-8")
    assert run_cli("redirects", "import", *cfg, "--by", "t", str(first)).returncode == 0
    second = tmp_path / "second.csv"
    second.write_text("/b/,gone\n/d/,web\n", encoding="utf-8")

    preview = run_cli("redirects", "import", *cfg, "--dry-run", "--replace", str(second))
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.splitlines() == [
        f"dry run, nothing changed: 2 rows in {second}",
        "1 added, 1 changed, 2 removed, 0 unchanged",
        "  add    /d -> web",
        "  change /b: social -> gone",
        "  remove /a (was web)",
        "  remove /c (was gone)",
    ]
    assert [r[0] for r in exported(cfg)] == ["/a", "/b", "/c"]  # the dry run changed nothing

    merged = run_cli("redirects", "import", *cfg, "--by", "t", str(second))
    assert merged.stdout.strip().endswith("1 added, 1 changed, 0 removed, 0 unchanged")
    assert exported(cfg) == [["/a", "web"], ["/b", "gone"], ["/c", "gone"], ["/d", "web"]]
    replaced = run_cli("redirects", "import", *cfg, "--by", "t", "--replace", str(second))
    assert replaced.returncode == 0, replaced.stderr
    assert exported(cfg) == [["/b", "gone"], ["/d", "web"]]


def test_dry_run_samples_and_counts_many_rows(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path, create=False))
    many = tmp_path / "many.csv"
    many.write_text("".join(f"/p{i}/,web\n" for i in range(25)), encoding="utf-8")
    done = run_cli("redirects", "import", *cfg, "--dry-run", str(many))
    assert done.returncode == 0, done.stderr
    assert "25 added, 0 changed, 0 removed, 0 unchanged" in done.stdout
    assert done.stdout.count("  add ") == 10
    assert "… and 15 more to add" in done.stdout
    assert not (tmp_path / "linkbridge.db").exists(), "a dry run makes no store"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    done = run_cli("redirects", "import", *cfg, str(tmp_path / "saknas.csv"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"redirects import: cannot read {tmp_path / 'saknas.csv'}: No such file or directory"
    ]
