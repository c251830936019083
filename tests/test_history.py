"""History cannot be erased by a stranger: the attacks, against a real `linkbridge serve`."""

from __future__ import annotations

import http.server
import json
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support import ROOT, SEED_POST, require
from tests.support.serve import Served, config_args, run_cli, store_overlay

BEFORE_AT = "2017-12-01T12:00:00+01:00"
LOGISTIKFOKUS = "http://www.logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/"
"""The imported pingback's source: a 2013 blog that has since closed."""
SEED_PATH = SEED_POST.removeprefix("http://www.naringsbloggen.se")
WP_CLIENT = ROOT / "tests" / "receive" / "wp_ixr_client.php"
IXR = Path("/usr/share/wordpress/wp-includes/class-IXR.php")
HOW_TO_PHP = "needs php-cli and wordpress: apt-get install -y php-cli wordpress"
NO_PORT_80 = "[fetch]\nallowed_ports = [443]\nmax_attempts = 1\n"
"""Sources on port 80 are refused by the address policy: nothing leaves the machine."""


def post_form(served: Served, path: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(
        served.base + path, data=data, headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def status_of(served: Served, location: str) -> dict[str, object]:
    path = location.removeprefix("http://www.naringsbloggen.se")
    req = urllib.request.Request(served.base + path, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        doc: dict[str, object] = json.loads(resp.read())
        return doc


def logistikfokus_row(served_overlay: Path) -> dict[str, object]:
    listed = run_cli("moderate", "list", "--json", *config_args(served_overlay))
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["source_url"] == LOGISTIKFOKUS]
    return dict(row)


def decisions_of(tmp_path: Path, linkback_id: int) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(tmp_path / "linkbridge.db")
    try:
        return conn.execute(
            "SELECT old_state, new_state, actor FROM decisions WHERE linkback_id = ? ORDER BY id",
            (linkback_id,),
        ).fetchall()
    finally:
        conn.close()


@pytest.fixture
def overlay(tmp_path: Path) -> Path:
    return store_overlay(tmp_path, NO_PORT_80)


@pytest.fixture
def served(overlay: Path) -> Iterator[Served]:
    server = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()


def test_a_stranger_cannot_erase_the_imported_logistikfokus_pingback(
    served: Served, overlay: Path, tmp_path: Path
) -> None:
    before = logistikfokus_row(overlay)
    assert before["state"] == "approved"
    assert before["imported"] is True
    decided = decisions_of(tmp_path, int(str(before["id"])))

    # webmention: accepted, and the status resource shows the row as it is
    code, headers, body = post_form(
        served, "/webmention", {"source": LOGISTIKFOKUS, "target": SEED_POST}
    )
    assert code == 202, body
    doc = status_of(served, headers["Location"])
    assert doc["status"] == "approved"
    assert "reverification" not in doc
    # pingback: fault 48, as WordPress's senders treat "done"
    with (
        xmlrpc.client.ServerProxy(served.base + "/xmlrpc.php") as proxy,
        pytest.raises(xmlrpc.client.Fault) as fault,
    ):
        proxy.pingback.ping(LOGISTIKFOKUS, SEED_POST)
    assert fault.value.faultCode == 48
    # trackback: "already registered"
    code, _, body = post_form(served, SEED_PATH + "trackback/", {"url": LOGISTIKFOKUS})
    assert ElementTree.fromstring(body).findtext("error") == "1"

    time.sleep(0.5)  # a worker that wrongly took a job would have started on it by now
    after = logistikfokus_row(overlay)
    assert {k: v for k, v in after.items() if k != "public_id"} == {
        k: v for k, v in before.items() if k != "public_id"
    }
    assert decisions_of(tmp_path, int(str(before["id"]))) == decided
    status, feed = served.get_text(SEED_PATH + "feed/")
    assert status == 200
    assert "logistikfokus" in feed.lower()
    fetched = [e for e in served.events() if e.get("event") == "source_verified"]
    assert fetched == []  # nothing was fetched: the old blog was never asked


def test_wordpress_own_client_gets_fault_48_for_imported_history(served: Served) -> None:
    php = shutil.which("php")
    require(bool(php) and IXR.exists(), HOW_TO_PHP)
    assert php is not None
    proc = subprocess.run(
        [php, str(WP_CLIENT), served.base + "/xmlrpc.php", LOGISTIKFOKUS, SEED_POST],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.startswith("FAULT 48"), proc.stdout + proc.stderr


def test_when_allowed_a_resend_reverifies_imported_history_and_failure_is_not_evidence(
    tmp_path: Path,
) -> None:
    overlay = store_overlay(tmp_path, NO_PORT_80 + "[moderation]\nreverify_imported = true\n")
    served = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        served.wait_started()
        code, headers, body = post_form(
            served, "/webmention", {"source": LOGISTIKFOKUS, "target": SEED_POST}
        )
        assert code == 202, body
        location = headers["Location"]
        deadline = time.monotonic() + 30  # a hang guard, not a measure
        while "reverification" in status_of(served, location):
            assert time.monotonic() < deadline, "re-verification never finished"
            time.sleep(0.1)
        assert status_of(served, location)["status"] == "approved"
        verified = [e for e in served.events() if e.get("event") == "linkback_reverified"]
        assert [e["state"] for e in verified] == ["approved"]
        assert "logistikfokus" in served.get_text(SEED_PATH + "feed/")[1].lower()
    finally:
        served.stop()


def test_a_moderator_restores_a_deleted_linkback_and_the_decision_is_recorded(
    served: Served, overlay: Path, tmp_path: Path
) -> None:
    row = logistikfokus_row(overlay)
    linkback_id = str(row["id"])
    rejected = run_cli(
        "moderate", "reject", linkback_id, "--by", "anna", *config_args(overlay)
    )
    assert rejected.returncode == 0, rejected.stderr
    restored = run_cli(
        "moderate", "restore", linkback_id, "--by", "anna", "--reason", "historik",
        *config_args(overlay),
    )
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == f"{linkback_id}: approved"
    assert decisions_of(tmp_path, int(linkback_id))[-2:] == [
        ("approved", "rejected", "anna"),
        ("rejected", "approved", "anna"),
    ]
    deadline = time.monotonic() + 30  # the server picks the change up within poll_interval_s
    while "logistikfokus" not in served.get_text(SEED_PATH + "feed/")[1].lower():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    again = run_cli("moderate", "restore", linkback_id, *config_args(overlay))
    assert again.returncode == 1
    assert "only a deleted, rejected or spam linkback can be restored" in again.stderr


# ---------------------------------------------------------------- failed rows are pruned


class _Source(http.server.BaseHTTPRequestHandler):
    """A loopback page that does not link to the post: its webmention fails."""

    def do_GET(self) -> None:
        body = "<!doctype html><html><body><p>Ingen länk här.</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def unlinked_source() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/utan-lank/"
    finally:
        server.shutdown()
        server.server_close()


def _wait_for_status(served: Served, location: str, status: str) -> dict[str, object]:
    deadline = time.monotonic() + 30  # a hang guard, not a measure
    while (doc := status_of(served, location))["status"] != status:
        assert time.monotonic() < deadline, doc
        time.sleep(0.1)
    return doc


def test_failed_rows_are_pruned_after_their_retention_and_their_status_answers_410(
    tmp_path: Path, unlinked_source: str
) -> None:
    port = int(unlinked_source.split(":")[2].split("/", maxsplit=1)[0])
    overlay = store_overlay(
        tmp_path,
        f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [80, 443, {port}]\n'
        "[moderation]\nfailed_retention_days = 30\n",
    )
    served = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        served.wait_started()
        code, headers, body = post_form(
            served, "/webmention", {"source": unlinked_source, "target": SEED_POST}
        )
        assert code == 201, body
        location = headers["Location"]
        failed = _wait_for_status(served, location, "failed")
        assert "no link" in str(failed["reason"])
    finally:
        served.stop()
    kept = logistikfokus_row(overlay)  # shown history, older than any retention: kept

    # 29 days later the failed row is still there; 31 days later it is pruned at start-up
    for days, pruned in ((29, False), (31, True)):
        at = (datetime.fromisoformat(BEFORE_AT) + timedelta(days=days)).isoformat()
        served = Served(*config_args(overlay), "--at", at)
        try:
            served.wait_started()
            deadline = time.monotonic() + 30
            while pruned and not any(
                e.get("event") == "failed_linkbacks_pruned" for e in served.events()
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            path = location.removeprefix("http://www.naringsbloggen.se")
            req = urllib.request.Request(served.base + path, headers={"Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    code, doc = resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as err:
                code, doc = err.code, json.loads(err.read())
        finally:
            served.stop()
        if not pruned:
            assert (code, doc["status"]) == (200, "failed")
            continue
        assert code == 410
        assert doc["error"] == "failed_and_pruned"
        assert "no link" in doc["message"]
    rows = sqlite3.connect(tmp_path / "linkbridge.db").execute(
        "SELECT COUNT(*) FROM linkbacks WHERE state = 'failed'"
    ).fetchone()
    assert rows == (0,)
    assert logistikfokus_row(overlay) == kept
