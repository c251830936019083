"""import-linter contract types the built-in ones cannot express (configured in pyproject.toml).

- `aiohttp_web`: which modules may import `aiohttp.web`. import-linter sees an external package
  only as a whole ("aiohttp"), and HTTP *clients* (`aiohttp.ClientSession`) are fine anywhere,
  so this reads each importer's `import` statements.
- `only_imports`: a package may import only the listed modules of its own project (what lies
  below it), so a module added later is refused until someone places it in the layering.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def _within(module: str, prefixes: Any) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def _imports_aiohttp_web(module: str) -> list[int]:
    """Lines of `module` that import aiohttp.web (or one of its web_* modules)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return []
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        if any(n == "aiohttp.web" or n.startswith(("aiohttp.web.", "aiohttp.web_")) for n in names):
            lines.append(node.lineno)
    return lines


class AiohttpWebContract(Contract):
    """Only `allowed_importers` (and their submodules) may import aiohttp.web."""

    type_name = "aiohttp_web"
    source_modules = fields.ListField(subfield=fields.StringField(), required=False)
    allowed_importers = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        del verbose  # nothing more to say
        sources = self.source_modules or [self.session_options["root_packages"][0]]
        allowed: list[str] = self.allowed_importers or []  # type: ignore[assignment]
        illegal: list[tuple[str, int]] = []
        for importer in sorted(graph.find_modules_that_directly_import("aiohttp")):
            if not _within(importer, sources) or _within(importer, allowed):
                continue
            illegal.extend((importer, line) for line in _imports_aiohttp_web(importer))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, line in check.metadata["illegal"]:
            output.print_error(f"{importer} imports aiohttp.web (l.{line})", bold=False)
        output.new_line()
        output.print("Keep the handler in web/ (or admin/) and pass plain values down to it.")


class OnlyImportsContract(Contract):
    """`source_modules` import nothing of the project except `allowed_modules` and themselves."""

    type_name = "only_imports"
    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        del verbose  # nothing more to say
        root = self.session_options["root_packages"][0]
        illegal = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            for importer in sorted(graph.find_descendants(source) | {source}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if not _within(imported, [root]) or _within(imported, [source]):
                        continue
                    if imported == root or _within(imported, self.allowed_modules):
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = [d["line_number"] for d in details]
                    illegal.append((importer, imported, lines))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["illegal"]:
            where = ", ".join(map(str, lines))
            output.print_error(f"{importer} -> {imported} (l.{where})", bold=False)
        output.new_line()
        allowed: list[str] = self.allowed_modules  # type: ignore[assignment]
        output.print(f"Allowed below it: {', '.join(allowed)}.")
