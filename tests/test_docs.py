"""The repository explains itself: every module is on the folder map, no file points outside."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "src" / "linkbridge"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
OUTSIDE = re.compile(
    "|".join(re.escape(p) for p in ("DESIGN" + ".md", "../" + "shared", "/" + "work/"))
)
"""A design file that is not in the repository, the sibling folder it lived in, this machine."""
BINARY_SUFFIXES = (".png", ".jpg", ".ico", ".woff", ".woff2", ".gz", ".db")


def test_every_module_is_on_the_folder_map() -> None:
    doc = ARCHITECTURE.read_text(encoding="utf-8")
    text = doc.partition("## Folders and concerns")[2].partition("\n## ")[0]
    assert text, 'docs/architecture.md lost its section "## Folders and concerns"'
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "__pycache__":
            continue
        folder = rel.parent.as_posix()
        if rel.name == "__init__.py" and folder != ".":
            name, where = f"{folder}/", "as its folder's own row (**`" + folder + "/`**)"
        elif folder == ".":
            name, where = rel.name, "with the top-level modules, before the first folder row"
        else:
            name, where = rel.as_posix(), f"below the **`{folder}/`** row"
        if f"`{name}`" not in text:
            missing.append(
                f"src/linkbridge/{rel.as_posix()}: add the row | `{name}` | <its concern> | to the "
                f'table "Folders and concerns" in docs/architecture.md, {where}'
            )
    assert not missing, "modules missing from the folder map:\n" + "\n".join(missing)


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout (git ls-files) to know the tracked files")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository() -> None:
    found = []
    for path in _tracked_files():
        if path.suffix in BINARY_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, (
        "these lines point outside the repository; bring what they rely on into docs/ "
        "(docs/architecture.md holds routes, states, outcomes and the feed grammar):\n"
        + "\n".join(found)
    )
