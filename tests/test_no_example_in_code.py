"""Nothing of the example blog lives in code defaults or shipped templates (issue: another
blog's subscribers were told Näringsbloggen had closed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import linkbridge

PACKAGE = Path(linkbridge.__file__).parent
EXAMPLE_WORDS = ("näringsblogg", "naringsblogg", "naringsdep", "regeringen", "engholm",
                 "regeringskansliet", "näringsdepartement")
SHIPPED_EXAMPLE_FILES = ("naringsbloggen.toml", "naringsbloggen-innovation.wxr")
"""The example config and export are package data; naming their files is not a default."""


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:  # a bare string statement: a docstring or an attribute's doc
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    ids.add(id(stmt.value))
    return ids


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def _example_in(text: str) -> bool:
    for name in SHIPPED_EXAMPLE_FILES:
        text = text.replace(name, "")
    return any(word in text.lower() for word in EXAMPLE_WORDS)


@pytest.mark.slow  # over a second
def test_no_example_blog_text_in_code() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {value[:80]!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, value in _strings(path)
        if _example_in(value)
    ]
    assert not found, "example-blog text in code:\n" + "\n".join(found)


def test_no_example_blog_text_in_shipped_templates() -> None:
    found = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("templates/*"))
        if path.is_file() and _example_in(path.read_text(encoding="utf-8"))
    ]
    assert not found


def test_the_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docs may name Näringsbloggen."""\nTITLE = "Näringsbloggen har stängt"\n',
                      encoding="utf-8")
    assert [v for _, v in _strings(sample) if _example_in(v)] == ["Näringsbloggen har stängt"]
