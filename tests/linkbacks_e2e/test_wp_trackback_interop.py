"""WordPress 6.1's own trackback sender (`trackback_url_list()` → `trackback()` → WP_Http, under
php-cli) against a real `linkbridge serve`: every TrackBack URL form WordPress answers, before and
after the shutdown instant, the excerpt WordPress cuts inside a multi-byte character, the comment
feed a reader gets, and a GET of the ping URLs."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import feedparser
import pytest
from aiohttp.test_utils import TestServer

from tests.support import AFTER, BEFORE, SEED_ID, SEED_PATH, SEED_POST, require
from tests.support.linkbacks import TRACKBACK_OK, SourceSite, linking_page, trackback_answer
from tests.support.serve import Served, config_args, run_cli, store_overlay

pytestmark = pytest.mark.slow

WORDPRESS = Path("/usr/share/wordpress/wp-includes/post.php")
CLIENT = Path(__file__).with_name("wp_trackback_client.php")
HOW_TO = "needs php-cli and wordpress: apt-get install -y php-cli wordpress"
SUCCESSOR = "https://www.regeringen.se/"
"""Where the /innovation/ sub-blog goes ("web"); the after-instant answer names it."""
WAIT_S = 30.0
"""A hang guard only: verification of a loopback page takes well under a second."""

FORMS = {
    "path-info": f"/innovation/wp-trackback.php/{SEED_ID}",
    "query": f"/innovation/?p={SEED_ID}&tb=1",
}
"""The TrackBack URL forms WordPress 6.1 answers besides the post's /trackback/ and ?p=ID."""

BLOG_NAME = "Logistikfokus – Västerås"
TITLE = "Omvärldsspaning: innovationsupphandling"
BODY = (
    "<p>Över 1 200 innovationsintresserade från kommuner, landsting och myndigheter samlades för "
    "att lära sig mer om <em>innovationsupphandling</em>; Näringsdepartementet skrev om "
    "seminariet och ministern pekade på Elvägar, på förkommersiell upphandling och på ett "
    "samlat upphandlingsstöd för åäö-länen.</p>"
)
"""Post content whose 252nd byte falls inside a multi-byte character (checked below)."""


def wordpress_cut(content: str) -> tuple[bytes, str]:
    """What WordPress sends for `content` (bytes before &hellip;) and what we should store."""
    text = content.replace("<p>", "").replace("</p>", "").replace("<em>", "").replace("</em>", "")
    sent = text.encode()[:252]
    return sent, sent.decode("utf-8", "ignore") + "…"


@dataclass
class Sent:
    exit_code: int
    status: int
    body: str


async def wordpress_trackback(
    ping_url: str, permalink: str, title: str, content: str, blog_name: str = BLOG_NAME
) -> Sent:
    """WordPress's trackback_url_list() for one post: what its HTTP client was answered."""
    php = shutil.which("php")
    assert php is not None
    proc = await asyncio.create_subprocess_exec(
        php, str(CLIENT), ping_url, permalink, blog_name, "7", title, content,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    status, _, body = out.decode("utf-8").partition("\n")
    assert err == b"", err.decode("utf-8", "replace")
    return Sent(proc.returncode or 0, int(status) if status.isdigit() else 0, body)


def overlay(tmp_path: Path, port: int) -> Path:
    return store_overlay(
        tmp_path,
        extra=(
            '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
            f"allowed_ports = [80, 443, {port}]\n"
            '[moderation]\nallow_hosts = ["127.0.0.1"]\n'
        ),
    )


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(
        url, allow_redirects=False
    ) as resp:
        return resp.status, resp.headers.get("Location", "")


async def wait_for_feed(server: Served, path: str, needles: list[str]) -> bytes:
    """The feed at `path` once every needle is in it (verification runs on serve's worker)."""
    async with asyncio.timeout(WAIT_S), aiohttp.ClientSession() as session:
        while True:
            async with session.get(server.base + path) as resp:
                body = await resp.read()
            if all(n.encode() in body for n in needles):
                return body
            await asyncio.sleep(0.2)


def test_wordpress_trackbacks_to_every_url_form_before_the_instant(tmp_path: Path) -> None:
    require(bool(shutil.which("php")) and WORDPRESS.exists(), HOW_TO)
    sent_bytes, stored_excerpt = wordpress_cut(BODY)
    with pytest.raises(UnicodeDecodeError):  # the premise: WordPress cuts inside a character
        sent_bytes.decode("utf-8")

    async def run() -> tuple[dict[str, str], Path, bytes, bytes]:
        site = SourceSite()
        site.server = TestServer(site.app(), host="127.0.0.1")
        await site.server.start_server()
        site.port = site.server.port or 0
        config = overlay(tmp_path, site.port)
        server = Served(*config_args(config), "--at", BEFORE.isoformat())
        sources = {form: site.serve(f"/2017/12/{form}/", linking_page()) for form in FORMS}
        title_only = site.serve("/2017/12/bara-rubrik/", linking_page())
        try:
            await asyncio.to_thread(server.wait_started)
            for form, path in FORMS.items():
                sent = await wordpress_trackback(server.base + path, sources[form], TITLE, BODY)
                assert (sent.exit_code, sent.status) == (0, 200), (form, sent)
                assert sent.body.encode() == TRACKBACK_OK, form
            sent = await wordpress_trackback(server.base + FORMS["query"], title_only,
                                             "Bara en rubrik & inget utdrag", "")
            assert (sent.exit_code, sent.body.encode()) == (0, TRACKBACK_OK)

            needles = [*sources.values(), title_only]
            rss = await wait_for_feed(server, SEED_PATH + "feed/", needles)
            atom = await wait_for_feed(server, SEED_PATH + "feed/atom/", needles)
            for path in [*FORMS.values(), SEED_PATH + "trackback/"]:  # GET: WordPress's 302
                assert await get(server.base + path) == (302, SEED_POST), path
        finally:
            assert server.stop() == 0
            await site.server.close()
        sources["title-only"] = title_only
        return sources, config, rss, atom

    sources, config, rss, atom = asyncio.run(run())

    listed = run_cli("moderate", "list", "--json", *config_args(config))
    assert listed.returncode == 0, listed.stderr
    rows = {r["source_url"]: r for r in json.loads(listed.stdout)}
    for form in FORMS:
        row = rows[sources[form]]
        assert (row["protocol"], row["state"]) == ("trackback", "approved"), form
        assert (row["post_id"], row["blog"]) == (SEED_ID, "/innovation/"), form
        assert (row["title"], row["blog_name"]) == (TITLE, BLOG_NAME), form
        assert row["excerpt"] == stored_excerpt, form  # the broken tail dropped, nothing else
        assert "\ufffd" not in row["excerpt"]
    assert (rows[sources["title-only"]]["title"], rows[sources["title-only"]]["excerpt"]) == (
        "Bara en rubrik & inget utdrag", ""
    )

    for body in (rss, atom):  # a real reader sees WordPress's comment shape
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.get("bozo_exception")
        entries = {e.link: e for e in feed.entries}
        for form in FORMS:
            entry = entries[sources[form]]
            assert entry.title == f"Av: {BLOG_NAME}"  # site.language = "sv"
            assert entry.author == BLOG_NAME
            assert [c.value for c in entry.content] == [
                f"<p><strong>{TITLE}</strong></p><p>{stored_excerpt}</p>"
            ]
            assert entry.summary == f"{TITLE} {stored_excerpt}"  # the comment's text
            assert "\ufffd" not in entry.summary
        entry = entries[sources["title-only"]]
        assert [c.value for c in entry.content] == [
            "<p><strong>Bara en rubrik &amp; inget utdrag</strong></p>"
        ]
        assert entry.summary == "Bara en rubrik & inget utdrag"
    assert b"content:encoded" in rss


def test_wordpress_trackbacks_after_the_instant_name_the_successor(tmp_path: Path) -> None:
    require(bool(shutil.which("php")) and WORDPRESS.exists(), HOW_TO)

    async def run() -> Path:
        site = SourceSite()
        site.server = TestServer(site.app(), host="127.0.0.1")
        await site.server.start_server()
        site.port = site.server.port or 0
        config = overlay(tmp_path, site.port)
        server = Served(*config_args(config), "--at", AFTER.isoformat(), "--jobs")
        source = site.serve("/2018/03/sent/", linking_page())
        try:
            await asyncio.to_thread(server.wait_started)
            post = await get(server.base + SEED_PATH)
            assert post[0] == 301
            for form, path in FORMS.items():
                sent = await wordpress_trackback(server.base + path, source, TITLE, BODY)
                assert (sent.exit_code, sent.status) == (0, 200), (form, sent)
                error, message = trackback_answer(sent.body.encode())
                assert error == 1, form
                assert SUCCESSOR in message, (form, message)
                assert await get(server.base + path) == post, form  # GET: the post's outcome
            assert site.requests == []  # nothing is fetched after the instant
        finally:
            assert server.stop() == 0
            await site.server.close()
        return config

    config = asyncio.run(run())
    listed = run_cli("moderate", "list", "--json", *config_args(config))
    assert listed.returncode == 0, listed.stderr
    stored = [r for r in json.loads(listed.stdout) if "127.0.0.1" in r["source_url"]]
    assert stored == []  # nothing stored after the instant
    hits = run_cli("hits", "--json", "--top", "50", "--at", AFTER.isoformat(),
                   *config_args(config))
    assert hits.returncode == 0, hits.stderr
    (row,) = json.loads(hits.stdout)  # each GET of a ping URL is a hit on its post
    assert (row["path"], row["status"]) == (SEED_PATH.rstrip("/"), 301)
    assert row["count"] == 1 + len(FORMS)
