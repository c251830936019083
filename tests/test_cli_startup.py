"""The CLI starts fast: only the chosen subcommand's modules are imported.

No timing here (the machine's load would make it flaky): the tests check which modules load.
Measure with `python -X importtime -m linkbridge --version`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import subprocess
import sys

import pytest

from linkbridge import commands
from linkbridge.commands import COMMANDS

HEAVY = ("aiohttp", "lxml", "structlog", "feedgen", "mf2py", "nh3", "jinja2", "sqlite3",
         "charset_normalizer", "linkbridge.app", "linkbridge.store", "linkbridge.text")
"""Never loaded by `--version` or `--help` (`--help` loads the settings to name the store)."""


def modules_loaded_by(*argv: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `linkbridge ARGV` parsed its arguments."""
    code = (
        "import sys\n"
        "from linkbridge.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return set(done.stderr.split())


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(HEAVY))


@pytest.mark.slow
@pytest.mark.parametrize("argv", [("--version",), ("--help",)])
def test_version_and_help_load_nothing_heavy(argv: tuple[str, ...]) -> None:
    loaded = modules_loaded_by(*argv)
    assert heavy(loaded) == []
    if argv == ("--version",):
        assert "linkbridge.settings_loader" not in loaded
    assert not any(m.startswith("linkbridge.commands.") for m in loaded)


@pytest.mark.slow
def test_a_subcommand_loads_only_its_own_module() -> None:
    loaded = modules_loaded_by("redirects", "check", "--help")
    assert "linkbridge.commands.retire" in loaded
    assert "linkbridge.commands.serve" not in loaded
    assert "linkbridge.app" not in loaded


LATER = ("feedgen", "dateutil", "argon2", "aiolimiter", "charset_normalizer")
"""Loaded by `serve` when first used (a feed, a login, a successor check, an undeclared
charset), not while it starts: each costs start-up time."""


@pytest.mark.slow
def test_serve_loads_what_it_needs_later_only_when_needed() -> None:
    code = ("import sys\nimport linkbridge.commands.serve\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert sorted(m for m in done.stderr.split() if m.startswith(LATER)) == []


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from linkbridge.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_the_command_table_matches_what_the_modules_register() -> None:
    """A new subcommand needs its row in linkbridge.commands.COMMANDS (name, module, help)."""
    registered: dict[str, tuple[str, str]] = {}
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__)} - {"context"}
    assert modules == {module for module, _ in COMMANDS.values()}
    for module_name in sorted(modules):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"linkbridge.commands.{module_name}").register(
            sub, argparse.ArgumentParser(add_help=False)
        )
        for action in sub._choices_actions:
            registered[action.dest] = (module_name, action.help or "")
    assert registered == COMMANDS
