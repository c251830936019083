"""The command line never prints a control or bidi character raw (a moderator's terminal)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from linkbridge import keys
from linkbridge.model import LinkbackDraft, LinkbackProtocol
from linkbridge.text import UNSAFE
from tests.support import AFTER, BEFORE, SEED_POST, AppFactory
from tests.support.serve import config_args, run_cli, store_overlay

HOSTILE = "spam\r\n     7  approved   pingback   /innovation/?p=2187 https://regeringen.se\x9b\u202e"


def raw_unsafe(text: str) -> list[str]:
    """Unsafe characters in output other than its own line breaks."""
    return [c for c in UNSAFE.findall(text.replace("\n", "")) if c != "\n"]


async def test_moderate_list_escapes_a_stored_row_with_control_characters(
    tmp_path: Path, lb_app: AppFactory
) -> None:
    """A row stored before intake refused such text (or by an older version) is shown escaped."""
    client = await lb_app(at=BEFORE)
    app = client.app
    post = app[keys.LIVE].snapshot.registry.resolve(SEED_POST).post
    assert post is not None
    source = "http://spam.example/\u202ex\r\n"
    draft = LinkbackDraft(
        blog=post.blog, post_id=post.post_id, source_url=source, source_canonical=source,
        source_host="spam.example", protocol=LinkbackProtocol.PINGBACK,
        target_url=post.permalink, title=HOSTILE, excerpt=HOSTILE,
    )
    await app[keys.STORE].record_linkback(draft, app[keys.CLOCK].now(), resend_is_duplicate=True)
    cfg = config_args(store_overlay(tmp_path))
    listed = await asyncio.to_thread(run_cli, "moderate", "list", *cfg)
    assert listed.returncode == 0, listed.stderr
    assert raw_unsafe(listed.stdout) == []
    [line] = [ln for ln in listed.stdout.splitlines() if "spam.example" in ln]
    assert "spam\\x0d\\x0a     7  approved" in line
    assert "http://spam.example/\\u202ex\\x0d\\x0a" in line
    as_json = await asyncio.to_thread(run_cli, "moderate", "list", "--json", *cfg)
    assert raw_unsafe(as_json.stdout) == []
    [row] = [r for r in json.loads(as_json.stdout) if r["source_host"] == "spam.example"]
    assert row["title"] == HOSTILE  # the same string to a JSON reader


async def test_hits_escapes_a_path_with_control_characters(
    tmp_path: Path, lb_app: AppFactory
) -> None:
    client = await lb_app(at=AFTER, extra="[retire]\nhit_flush_interval_s = 0.1\n")
    resp = await client.get("/innovation/x%C2%9B%E2%80%AEexe/", allow_redirects=False)
    assert resp.status in (301, 308, 410)
    store = client.app[keys.STORE]
    async with asyncio.timeout(10):
        while not await store.top_hits(limit=10, exclude_rules=[]):
            await asyncio.sleep(0.05)
    cfg = config_args(store_overlay(tmp_path))
    hits = await asyncio.to_thread(run_cli, "hits", "--top", "10", *cfg)
    assert hits.returncode == 0, hits.stderr
    assert raw_unsafe(hits.stdout) == []
    assert "x\\x9b\\u202eexe" in hits.stdout
