"""One store, found the same way by every command; init; a plain install (CLI subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support import EXAMPLE_WXR, ROOT
from tests.support.serve import Served, free_port


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m linkbridge ARGS` run from `cwd`, with extra environment."""
    full = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if pythonpath is not None:
        full["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "linkbridge", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, check=False, env=full,
    )


def blog_dir(tmp_path: Path) -> Path:
    """A copy of the example in its own folder, store URL relative (the default)."""
    done = cli("init", str(tmp_path / "blog"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "blog"


def test_every_command_finds_the_store_beside_the_config(tmp_path: Path) -> None:
    blog = blog_dir(tmp_path)
    config = str(blog / "naringsbloggen.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli("moderate", "block", "spam.example", "--config", config, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    # From yet another folder, by environment instead of flags: the same store.
    done = cli("redirects", "map", "/a/", "gone", cwd=ROOT, env={"LINKBRIDGE_CONFIG": config})
    assert done.returncode == 0, done.stderr
    exported = cli("redirects", "export", "--config", config, cwd=Path("/"))
    assert "/a,gone" in exported.stdout
    assert (blog / "linkbridge.db").is_file()
    assert not list(elsewhere.iterdir()), "nothing is created in the working directory"


def test_a_missing_store_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_bytes(EXAMPLE.read_bytes().replace(
        b'wxr = ["naringsbloggen-innovation.wxr"]', b"wxr = []"))
    for args in (["moderate", "list"], ["admin", "set-password"], ["hits"],
                 ["redirects", "export"], ["redirects", "map", "/a/", "gone"]):
        done = cli(*args, "--config", str(config), cwd=tmp_path)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        words = " ".join(args[:1] if args == ["hits"] else args[:2])
        assert lines[0].startswith(f"linkbridge {words}: no store at {tmp_path / 'linkbridge.db'}")
        assert "--state-dir" in lines[0]
    assert not (tmp_path / "linkbridge.db").exists()


def test_state_dir_flag_and_environment(tmp_path: Path) -> None:
    blog = blog_dir(tmp_path)
    config = str(blog / "naringsbloggen.toml")
    state = tmp_path / "state"
    done = cli("redirects", "import", "--config", config, "--state-dir", str(state), "-",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (state / "linkbridge.db").is_file()
    done = cli("redirects", "export", "--config", config, cwd=tmp_path,
               env={"LINKBRIDGE_STATE_DIR": str(state)})
    assert done.returncode == 0, done.stderr


def test_config_environment_takes_overlays(tmp_path: Path) -> None:
    overlay = tmp_path / "local.toml"
    overlay.write_text("[server]\nport = 9123\n[site]\ntitel = 'x'\n", encoding="utf-8")
    done = cli("check-config", cwd=tmp_path,
               env={"LINKBRIDGE_CONFIG": f"{EXAMPLE}{os.pathsep}{overlay}"})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"in {overlay}: unknown key site.titel (did you mean site.title?)"
    )


def test_help_and_check_config_say_which_files_and_store(tmp_path: Path) -> None:
    blog = blog_dir(tmp_path)
    config = blog / "naringsbloggen.toml"
    done = cli("moderate", "list", "--help", "--config", str(config), cwd=tmp_path)
    assert f"\nconfig: {config} (from --config)\n" in done.stdout
    assert f"\nstore: sqlite://{blog / 'linkbridge.db'} (state directory" in done.stdout
    done = cli("check-config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"store: sqlite://{blog / 'linkbridge.db'}" in done.stdout
    # The shipped example keeps its state in the user's state directory, never in the package.
    done = cli("check-config", cwd=tmp_path)
    xdg = Path(os.environ["XDG_STATE_HOME"])
    assert f"store: sqlite://{xdg / 'linkbridge' / 'linkbridge.db'}" in done.stdout


def test_init_writes_the_example_or_a_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    blog = blog_dir(tmp_path)
    assert (blog / "naringsbloggen-innovation.wxr").read_bytes() == EXAMPLE_WXR.read_bytes()
    again = cli("init", str(blog), cwd=tmp_path)
    assert again.returncode == 1
    assert "add --force" in again.stderr
    done = cli("init", str(tmp_path / "mine"), "--blog", 'Min "Blogg"', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    starter = tmp_path / "mine" / "linkbridge.toml"
    assert "linkbridge check-config --config" in done.stdout
    assert 'title = "Min \\"Blogg\\""' in starter.read_text(encoding="utf-8")
    checked = cli("check-config", "--config", str(starter), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_serve_prints_one_human_line(tmp_path: Path) -> None:
    blog = blog_dir(tmp_path)
    port = free_port()
    served = Served("--config", str(blog / "naringsbloggen.toml"), port=port)
    try:
        served.wait_started()
        assert served.proc.stdout is not None
        line = served.proc.stdout.readline().strip()
    finally:
        served.stop()
    assert line.startswith("linkbridge ")
    assert f"listening on http://127.0.0.1:{port}/, phase after" in line
    assert line.endswith(f"store sqlite://{blog / 'linkbridge.db'}")


@pytest.mark.slow
def test_a_plain_install_runs_the_example(tmp_path: Path) -> None:
    """Build the wheel, install it (not editable) and run it from an unrelated folder."""
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stderr
    site = tmp_path / "site"
    (wheel,) = wheels.glob("linkbridge-*.whl")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert installed.returncode == 0, installed.stderr
    assert (site / "linkbridge" / "example" / "naringsbloggen.toml").is_file()
    assert list(site.glob("linkbridge-*.dist-info/licenses/LICENSE"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    state = tmp_path / "xdg"
    env = {"XDG_STATE_HOME": str(state)}
    done = cli("check-config", cwd=run_dir, env=env, pythonpath=site)
    assert done.returncode == 0, done.stderr
    assert f"config: {site / 'linkbridge' / 'example' / 'naringsbloggen.toml'}" in done.stdout
    done = cli("import", "wxr", str(site / "linkbridge" / "example" /
                                    "naringsbloggen-innovation.wxr"),
               cwd=run_dir, env=env, pythonpath=site)
    assert done.returncode == 0, done.stderr
    assert (state / "linkbridge" / "linkbridge.db").is_file()
    assert not list((site / "linkbridge").rglob("*.db")), "no state inside the package"
    done = cli("init", str(tmp_path / "copy"), cwd=run_dir, env=env, pythonpath=site)
    assert done.returncode == 0, done.stderr
