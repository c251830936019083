"""`linkbridge admin set-password` against a real store, as a separate process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from linkbridge.passwords import verify_password
from linkbridge.settings_loader import DEFAULT_CONFIG
from linkbridge.store import open_store
from tests.support import create_store

pytestmark = pytest.mark.slow  # runs `linkbridge admin` as a subprocess


def _set_password(tmp_path: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/lb.db"\n', encoding="utf-8")
    create_store(tmp_path / "lb.db")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "linkbridge",
            "admin",
            "set-password",
            "--config",
            str(DEFAULT_CONFIG),
            "--config",
            str(overlay),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _users_and_check(tmp_path: Path, user: str, password: str) -> tuple[list[str], bool]:
    store = open_store(f"sqlite:///{tmp_path}/lb.db")
    await store.open()
    try:
        return await store.admin_users(), await verify_password(store, user, password)
    finally:
        await store.close()


async def test_set_password_from_stdin(tmp_path: Path) -> None:
    done = await asyncio.to_thread(_set_password, tmp_path, "twelve chars\n", "--user", "anna")
    assert done.returncode == 0, done.stderr
    assert "password set for anna" in done.stdout
    users, ok = await _users_and_check(tmp_path, "anna", "twelve chars")
    assert users == ["anna"]
    assert ok
    assert not (await _users_and_check(tmp_path, "anna", "twelve chars "))[1]


async def test_short_password_is_refused_at_the_edge(tmp_path: Path) -> None:
    done = await asyncio.to_thread(_set_password, tmp_path, "eleven char\n")
    assert done.returncode == 1
    assert "at least 12 characters" in done.stderr
    users, _ = await _users_and_check(tmp_path, "admin", "eleven char")
    assert users == []
    done = await asyncio.to_thread(_set_password, tmp_path, "twelve chars\n")
    assert done.returncode == 0
    assert (await _users_and_check(tmp_path, "admin", "twelve chars")) == (["admin"], True)


async def test_bad_user_name_is_refused(tmp_path: Path) -> None:
    done = await asyncio.to_thread(_set_password, tmp_path, "twelve chars\n", "--user", "a b")
    assert done.returncode == 2
