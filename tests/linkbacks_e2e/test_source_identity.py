"""Source identity: two different pages are two rows, whatever their URLs have in common."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import xmlrpc.client
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from linkbridge.model import LinkbackState
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import BEFORE, SEED_POST
from tests.support.linkbacks import (
    SourceSite,
    comment_feed,
    linking_page,
    only_row,
    run_jobs,
    unlinked_page,
)
from tests.support.serve import Served, config_args, run_cli, store_overlay

APPROVE = '[moderation]\nallow_hosts = ["127.0.0.1"]\n[webmention]\nrepeat_window_s = 0\n'


@pytest.mark.parametrize(
    ("a", "b"),
    [("/watch?v=AbCdE", "/watch?v=abcde"), ("/Notes/Q1", "/notes/q1"), ("/a/b", "/a/b/")],
    ids=["query value case", "path case", "trailing slash"],
)
async def test_two_pages_are_two_rows_and_one_never_touches_the_other(
    linkbridge: LinkbridgeFactory, source: SourceSite, a: str, b: str
) -> None:
    client = await linkbridge(extra=APPROVE)
    url_a, url_b = source.url(a), source.url(b)
    for path in (a, b):
        source.serve(path.split("?", maxsplit=1)[0], linking_page())
    for url in (url_a, url_b):  # the second page's genuine pingback is not "already registered"
        body = xmlrpc.client.dumps((url, SEED_POST), "pingback.ping").encode()
        resp = await client.post("/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"})
        assert "faultCode" not in await resp.text()
    first, second = await only_row(client, url_a), await only_row(client, url_b)
    assert first.id != second.id
    assert (first.state, second.state) == (LinkbackState.APPROVED, LinkbackState.APPROVED)

    # the second page drops the link and says so by webmention: only its own row goes
    source.serve(b.split("?", maxsplit=1)[0], unlinked_page())
    resp = await client.post("/webmention", data={"source": url_b, "target": SEED_POST})
    assert resp.status == 202
    await run_jobs(client)
    assert (await only_row(client, url_b)).state == LinkbackState.DELETED
    assert await only_row(client, url_a) == first
    feed = await comment_feed(client)
    assert url_a.replace("&", "&amp;") in feed


@pytest.mark.slow
def test_serve_recomputes_keys_stored_under_the_old_rule_and_merges_nothing(
    tmp_path: Path,
) -> None:
    """A store written when path case was folded: `linkbridge serve` recomputes its source keys
    at start-up; the row keeps its state, its own page still meets it (fault 48), and the page
    that only differs in case is a new row."""
    first, second = "/Notes/Q1", "/notes/q1"

    async def run() -> tuple[Path, list[object], list[str], set[str]]:
        site = SourceSite()
        site.server = TestServer(site.app(), host="127.0.0.1")
        await site.server.start_server()
        port = site.server.port
        site.port = port or 0
        config = store_overlay(
            tmp_path,
            extra=(
                f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [80, 443, {port}]\n'
                '[moderation]\nallow_hosts = ["127.0.0.1"]\n'
            ),
        )
        for path in (first, second):
            site.serve(path, linking_page())
        answers: list[object] = []
        logs: list[str] = []
        try:
            for step in ("old", "new"):
                server = Served(*config_args(config), "--at", BEFORE.isoformat())
                try:
                    await asyncio.to_thread(server.wait_started)
                    urls = [site.url(first)] if step == "old" else [site.url(second),
                                                                     site.url(first)]
                    for url in urls:
                        answers.append(await asyncio.to_thread(_pingback, server.base, url))
                finally:
                    assert server.stop() == 0
                    logs += server.lines
                if step == "old":  # as the old rule stored it: path case folded, rule unstamped
                    with sqlite3.connect(tmp_path / "linkbridge.db") as db:
                        db.execute("UPDATE linkbacks SET source_canonical ="
                                   " lower(source_canonical) WHERE source_url LIKE '%/Notes/Q1'")
                        db.execute("DELETE FROM meta WHERE key = 'source_keys'")
                    db.close()  # the context manager commits; it does not close
        finally:
            await site.server.close()
        return config, answers, logs, {site.url(first), site.url(second)}

    config, answers, logs, urls = asyncio.run(run())
    assert isinstance(answers[0], str)  # the first page's ping, under the old rule
    assert isinstance(answers[1], str), answers[1]  # the second page: not "already registered"
    assert isinstance(answers[2], xmlrpc.client.Fault)
    assert answers[2].faultCode == 48  # the first page meets its own recomputed row
    recomputed = [json.loads(line) for line in logs if "source_keys_recomputed" in line]
    assert [event["rows"] for event in recomputed] == [1]
    listed = run_cli("moderate", "list", "--json", *config_args(config))
    assert listed.returncode == 0, listed.stderr
    rows = {r["source_url"]: r for r in json.loads(listed.stdout) if "127.0.0.1" in r["source_url"]}
    assert set(rows) == urls  # two pages, two rows
    assert {r["state"] for r in rows.values()} == {"approved"}


def _pingback(base: str, source_url: str) -> object:
    with xmlrpc.client.ServerProxy(base + "/xmlrpc.php") as proxy:
        try:
            return proxy.pingback.ping(source_url, SEED_POST)
        except xmlrpc.client.Fault as fault:
            return fault
