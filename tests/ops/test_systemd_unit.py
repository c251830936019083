"""The shipped systemd unit passes `systemd-analyze verify` with no warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

UNIT = ROOT / "deploy" / "linkbridge.service"
ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(
    ANALYZE is None and os.environ.get("CI") != "true",
    reason="needs systemd-analyze: apt-get install -y systemd",
)
def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    """ExecStart points at this environment's `linkbridge`, so verify can check it exists."""
    assert ANALYZE is not None
    installed = Path(sys.executable).parent / "linkbridge"
    text = UNIT.read_text(encoding="utf-8")
    assert "/opt/linkbridge/bin/linkbridge" in text
    unit = tmp_path / "linkbridge.service"
    unit.write_text(text.replace("/opt/linkbridge/bin/linkbridge", str(installed)),
                    encoding="utf-8")
    done = subprocess.run([ANALYZE, "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_unit_keeps_the_store_under_its_state_directory() -> None:
    lines = set(UNIT.read_text(encoding="utf-8").splitlines())
    assert "StateDirectory=linkbridge" in lines
    assert "Environment=LINKBRIDGE_STATE_DIR=/var/lib/linkbridge" in lines
    assert {"NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure"} <= lines
