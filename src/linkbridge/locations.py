"""Where a command finds its config files and its state directory (and so its store).

Config files: `--config` flags, else `LINKBRIDGE_CONFIG` (overlays separated by ":"), else the
shipped example. State directory (a relative `sqlite:` store URL resolves against it, never
against the working directory): `--state-dir`, else `LINKBRIDGE_STATE_DIR`, else the folder of
the first config file, except for the shipped example, whose state goes to the user's state
directory (`$XDG_STATE_HOME/linkbridge`, by default `~/.local/state/linkbridge`), never into
the installed package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from linkbridge.redact import redact_url

CONFIG_ENV = "LINKBRIDGE_CONFIG"
STATE_DIR_ENV = "LINKBRIDGE_STATE_DIR"
EXAMPLE_NAME = "naringsbloggen.toml"
EXAMPLE_WXR_NAME = "naringsbloggen-innovation.wxr"


def example_dir() -> Path:
    """The shipped example's folder: package data when installed, `config/` in a checkout."""
    packaged = Path(__file__).parent / "example"  # not importlib.resources: --help stays quick
    if (packaged / EXAMPLE_NAME).is_file():
        return packaged
    # An editable install or a source checkout: the wheel's package data comes from here.
    return Path(__file__).resolve().parents[2] / "config"


def example_config() -> Path:
    """The shipped example config (Näringsbloggen)."""
    return example_dir() / EXAMPLE_NAME


def is_example(path: Path) -> bool:
    """True for the shipped example config, wherever it was read from."""
    try:
        return path.resolve() == example_config().resolve()
    except OSError:
        return False


def user_state_dir(env: Mapping[str, str]) -> Path:
    """`$XDG_STATE_HOME/linkbridge`, by default `~/.local/state/linkbridge`."""
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "linkbridge"


@dataclass(frozen=True)
class Lookup:
    """The config files and state directory one command uses, and where each came from."""

    config_files: tuple[Path, ...]
    config_from: str
    """"--config", "$LINKBRIDGE_CONFIG" or "the shipped example"."""
    state_dir: Path
    state_from: str


def lookup(
    config_flags: Sequence[str], state_dir_flag: str | None, env: Mapping[str, str]
) -> Lookup:
    """Resolve config files and state directory from flags and environment."""
    if config_flags:
        files, config_from = tuple(Path(p) for p in config_flags), "--config"
    elif env.get(CONFIG_ENV):
        parts = [p for p in env[CONFIG_ENV].split(os.pathsep) if p]
        files, config_from = tuple(Path(p) for p in parts), f"${CONFIG_ENV}"
    else:
        files, config_from = (example_config(),), "the shipped example"
    if state_dir_flag:
        state, state_from = Path(state_dir_flag), "--state-dir"
    elif env.get(STATE_DIR_ENV):
        state, state_from = Path(env[STATE_DIR_ENV]), f"${STATE_DIR_ENV}"
    else:
        state, state_from = default_state_dir(files, env)
    return Lookup(files, config_from, state.expanduser().absolute(), state_from)


def default_state_dir(files: Sequence[Path], env: Mapping[str, str]) -> tuple[Path, str]:
    """The first config file's folder, or the user's state directory for the example."""
    if not files or is_example(files[0]):
        return user_state_dir(env), "the user's state directory, as for the shipped example"
    return files[0].expanduser().absolute().parent, f"the folder of {files[0]}"


def describe_lookup(found: Lookup, store_url: str | None) -> str:
    """Which config files and store a command uses (for --help and check-config)."""
    files = ", ".join(str(f) for f in found.config_files)
    store = redact_url(store_url) if store_url else "(config does not load)"
    return (
        f"config: {files} (from {found.config_from})\n"
        f"store: {store} (state directory {found.state_dir}, from {found.state_from})"
    )
