"""Personal data end to end: `linkbridge erase` removes the imported Logistikfokus pingback for
good (a restart re-reads the WXR and does not bring it back), and a starting service forgets
sender addresses past their retention period."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackDraft, LinkbackProtocol
from linkbridge.store import open_store
from tests.support import BEFORE, SEED_POST, AppFactory, load_test_settings
from tests.support.serve import Served, config_args, run_cli, store_overlay

FEED = SEED_POST.removeprefix("http://www.naringsbloggen.se") + "feed/"


@pytest.mark.slow
def test_erase_by_host_survives_a_restart_and_is_recorded_without_the_data(
    tmp_path: Path,
) -> None:
    cfg = config_args(store_overlay(tmp_path))
    server = Served(*cfg, "--at", BEFORE.isoformat())
    try:
        server.wait_started()
        assert "Logistikfokus" in server.get_text(FEED)[1]
    finally:
        server.stop()
    done = run_cli("erase", *cfg, "--host", "https://www.logistikfokus.se/", "--by", "dpo",
                   "--reason", "request 17")
    assert done.returncode == 0, done.stderr
    assert "erased 1 linkback(s)" in done.stdout
    server = Served(*cfg, "--at", BEFORE.isoformat())
    try:
        server.wait_started()
        assert "Logistikfokus" not in server.get_text(FEED)[1]
    finally:
        server.stop()
    history = run_cli("redirects", "history", *cfg)
    listed = run_cli("moderate", "list", *cfg)
    assert "logistikfokus" not in (history.stdout + listed.stdout).lower()
    again = run_cli("erase", *cfg, "--author", "Nobody")
    assert again.returncode == 0
    assert "erased 0 linkback(s)" in again.stdout
    neither = run_cli("erase", *cfg)
    assert neither.returncode == 2  # argparse: one of --source, --host, --author


async def test_a_starting_service_forgets_old_sender_addresses(
    tmp_path: Path, lb_app: AppFactory
) -> None:
    settings = load_test_settings(tmp_path, "[privacy]\nclient_data_retention_days = 30\n")
    store = open_store(settings.store.url)
    await store.open()
    for n, age_days in ((1, 31), (2, 29)):
        await store.record_linkback(
            LinkbackDraft(blog="/innovation/", post_id=2187,
                          source_url=f"https://s{n}.example/p", source_canonical=f"s{n}.example/p",
                          source_host=f"s{n}.example", protocol=LinkbackProtocol.WEBMENTION,
                          client_ip=f"198.51.100.{n}"),
            BEFORE - timedelta(days=age_days), resend_is_duplicate=False,
        )
    await store.close()
    client = await lb_app(settings=settings)
    rows = {lb.source_host: lb.client_ip
            for lb in await client.app[keys.STORE].list_linkbacks()}
    assert rows["s1.example"] == ""
    assert rows["s2.example"] == "198.51.100.2"
