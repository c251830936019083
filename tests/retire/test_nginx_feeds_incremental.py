"""`export nginx`'s feed files after a change: an update that rebuilds only the feeds whose
content can have changed writes the same map, bytes and file times as a fresh full export,
for every kind of store change that moves a version."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from linkbridge.commands.exporting import write_files
from linkbridge.feeds.plan import build_representation
from linkbridge.live import LiveState
from linkbridge.model import ChangeNote, Erasure, LinkbackState
from linkbridge.phase import Phase
from linkbridge.posts.importer import import_wxr
from linkbridge.retire import nginx_feeds
from linkbridge.retire.nginx_feeds import FEEDS_MAP_FILE, FeedFiles
from linkbridge.settings import Settings
from linkbridge.store import open_store
from linkbridge.store.base import Store
from tests.support import BEFORE, EXAMPLE_WXR, load_test_settings

POST = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
PINGBACK = "http://www.logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/"
Change = Callable[[Settings, Store, Path], Awaitable[object]]


def _wxr(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "changed.wxr"
    path.write_text(text, encoding="utf-8")
    return path


def _example() -> str:
    return EXAMPLE_WXR.read_text(encoding="utf-8")


async def _import(settings: Settings, store: Store, path: Path) -> None:
    await import_wxr(settings, store, path, BEFORE + timedelta(days=1))


async def edit_title(settings: Settings, store: Store, tmp_path: Path) -> None:
    text = _example().replace("på frammarsch!</title>", "på frammarsch igen</title>", 1)
    await _import(settings, store, _wxr(tmp_path, text))


async def add_post(settings: Settings, store: Store, tmp_path: Path) -> None:
    text = _example()
    start = text.index("\t<item>")
    item = text[start: text.index("</item>", start) + len("</item>")]
    copy = (item.replace("2187", "3001").replace("innovationsupphandling-pa-frammarsch", "nytt")
            .replace('nicename="innovationsstrategi"', 'nicename="ny-kategori"'))
    copy = re.sub(r"<wp:comment_id>53(\d\d)</wp:comment_id>",
                  r"<wp:comment_id>63\1</wp:comment_id>", copy)
    await _import(settings, store, _wxr(tmp_path, text.replace(item, item + "\n" + copy, 1)))


async def remove_post(settings: Settings, store: Store, tmp_path: Path) -> None:
    text = _example()
    start = text.index("\t<item>")
    item = text[start: text.index("</item>", start) + len("</item>")]
    await _import(settings, store, _wxr(tmp_path, text.replace(item, "", 1)))


async def import_held_pingback(settings: Settings, store: Store, tmp_path: Path) -> None:
    """A pingback the old blog never approved: no feed version moves, its row does."""
    text = _example()
    end = text.index("\t\t</wp:comment>\n\t</item>") + len("\t\t</wp:comment>\n")
    last = text.rindex("\t\t<wp:comment>", 0, end)
    extra = (text[last:end].replace("5304", "5305").replace("omvarldsspaning-oktober-2013",
                                                             "en-annan-sida")
             .replace("<![CDATA[1]]></wp:comment_approved>", "<![CDATA[0]]></wp:comment_approved>"))
    await _import(settings, store, _wxr(tmp_path, text[:end] + extra + text[end:]))


async def decide(settings: Settings, store: Store, tmp_path: Path) -> None:
    shown = await store.list_linkbacks(states=[LinkbackState.APPROVED], limit=1)
    await store.set_state(shown[0].id, LinkbackState.DELETED, actor="t", reason="t",
                          now=BEFORE + timedelta(days=1))


async def erase(settings: Settings, store: Store, tmp_path: Path) -> None:
    await store.erase_linkbacks(Erasure(source_url=PINGBACK),
                                ChangeNote("erase", "t", "a request", BEFORE + timedelta(days=1)))


async def set_password(settings: Settings, store: Store, tmp_path: Path) -> None:
    await store.set_admin_password("redaktor", "hash")


CHANGES: dict[str, Change] = {
    "title edited": edit_title, "post added": add_post, "post removed": remove_post,
    "held pingback imported": import_held_pingback, "decision": decide, "erasure": erase,
    "moderator password": set_password,
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    settings = load_test_settings(tmp_path)
    s = open_store(settings.store.url)
    await s.open()
    await import_wxr(settings, s, EXAMPLE_WXR, BEFORE)
    yield s
    await s.close()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The plans of the feeds built, in order."""
    built: list[object] = []
    build = build_representation

    async def counted(settings: Settings, registry: Any, store: Store, plan: Any,
                      phase: Phase) -> Any:
        built.append(plan)
        return await build(settings, registry, store, plan, phase)

    monkeypatch.setattr(nginx_feeds, "build_representation", counted)
    return built


async def _export(folder: Path, live: LiveState, feeds: FeedFiles,
                  maps: list[str] | None = None) -> None:
    async def reload() -> None:
        if maps is not None:
            maps.append((folder / FEEDS_MAP_FILE).read_text(encoding="utf-8"))

    await live.refresh()
    await write_files(folder, live, Phase.BEFORE, "127.0.0.1:9", feeds, reload)


def _named(folder: Path) -> dict[str, tuple[bytes, float]]:
    """Every file the feed map names (identity and gzip): its bytes and time."""
    out = {}
    for name in re.findall(r'" "([^"]+)";', (folder / FEEDS_MAP_FILE).read_text()):
        for file in (name, name.replace(".", "-gz.", 1)):
            path = folder / "feeds" / file
            out[file] = (path.read_bytes(), path.stat().st_mtime)
    return out


@pytest.mark.parametrize("change", CHANGES)
async def test_an_update_after_a_change_writes_what_a_fresh_export_writes(
    tmp_path: Path, store: Store, builds: list[object], change: str
) -> None:
    settings = load_test_settings(tmp_path)
    live = LiveState(settings, store)
    await live.refresh(force=True)
    feeds = FeedFiles(tmp_path / "incremental", settings, live.canonicaliser)
    await _export(tmp_path / "incremental", live, feeds)
    everything = len(builds)
    before = (tmp_path / "incremental" / FEEDS_MAP_FILE).read_text()

    await CHANGES[change](settings, store, tmp_path)
    builds.clear()
    await _export(tmp_path / "incremental", live, feeds)
    rebuilt = len(builds)

    fresh_live = LiveState(settings, store)
    await fresh_live.refresh(force=True)
    fresh = FeedFiles(tmp_path / "fresh", settings, fresh_live.canonicaliser)
    await _export(tmp_path / "fresh", fresh_live, fresh)

    after = (tmp_path / "incremental" / FEEDS_MAP_FILE).read_text()
    assert after == (tmp_path / "fresh" / FEEDS_MAP_FILE).read_text()
    assert _named(tmp_path / "incremental") == _named(tmp_path / "fresh")
    assert rebuilt < everything
    if change == "moderator password":
        assert rebuilt == 0
        assert after == before
    else:
        assert after != before  # the change shows: the comparison above meant something


async def test_one_edited_post_rebuilds_its_feeds_and_the_listings_that_include_it(
    tmp_path: Path, store: Store, builds: list[Any]
) -> None:
    """And nginx stops answering those feeds (the map without them, then a reload) before
    they are rebuilt, while it keeps answering every other feed."""
    settings = load_test_settings(tmp_path)
    live = LiveState(settings, store)
    await live.refresh(force=True)
    folder = tmp_path / "export"
    feeds = FeedFiles(folder, settings, live.canonicaliser)
    await _export(folder, live, feeds)
    full = (folder / FEEDS_MAP_FILE).read_text()
    builds.clear()
    maps: list[str] = []
    await edit_title(settings, store, tmp_path)
    await _export(folder, live, feeds, maps)

    rebuilt = {(plan[0].scope.value, plan[0].blog, plan[0].slug, plan[0].format.value)
               for plan in builds}
    formats = ("rss", "atom")
    assert rebuilt == {
        *((scope, blog, slug, fmt) for fmt in formats for scope, blog, slug in (
            ("network", "/", ""), ("blog", "/innovation/", ""),
            ("category", "/innovation/", "innovationsstrategi"),
            ("author", "/innovation/", "annieloof"),
            ("post", "/innovation/", ""),  # the post's own feed lists its linkbacks
            ("comments_blog", "/innovation/", ""), ("comments_network", "/", ""),
        )),
    }
    assert len(builds) == len(rebuilt)
    dropped = maps[0]
    assert dropped
    assert set(dropped.splitlines()) < set(full.splitlines())
    assert f'"before {POST}feed/"' not in dropped
    assert '"before /innovation/feed/"' not in dropped
    assert '"before /transport/feed/"' in dropped  # a sub-blog without the post: kept
    assert f'"before {POST}feed/"' in (folder / FEEDS_MAP_FILE).read_text()


async def test_a_decision_rebuilds_its_linkback_feeds_without_dropping_them_first(
    tmp_path: Path, store: Store, builds: list[Any]
) -> None:
    settings = load_test_settings(tmp_path)
    live = LiveState(settings, store)
    await live.refresh(force=True)
    folder = tmp_path / "export"
    feeds = FeedFiles(folder, settings, live.canonicaliser)
    await _export(folder, live, feeds)
    builds.clear()
    maps: list[str] = []
    await decide(settings, store, tmp_path)
    await _export(folder, live, feeds, maps)
    assert {plan[0].scope.value for plan in builds} == {"post", "comments_blog",
                                                        "comments_network"}
    assert maps == []  # no reload before: the export reloads once, after writing


async def test_a_long_rebuild_lets_other_tasks_run_between_feeds(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_test_settings(tmp_path)
    live = LiveState(settings, store)
    await live.refresh(force=True)
    feeds = FeedFiles(tmp_path / "export", settings, live.canonicaliser)
    ticks_at_build: list[int] = []
    ticks = 0
    done = False

    async def other() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0)
            ticks += 1

    build = build_representation

    async def watched(*args: Any) -> Any:
        ticks_at_build.append(ticks)
        return await build(*args)

    monkeypatch.setattr(nginx_feeds, "build_representation", watched)
    task = asyncio.create_task(other())
    await _export(tmp_path / "export", live, feeds)
    done = True
    await task
    # the other task ran between every two builds (even posts feeds, which read no store)
    assert len(ticks_at_build) > 10
    assert all(b > a for a, b in itertools.pairwise(ticks_at_build))


async def test_a_decided_post_is_not_rebuilt_again_at_the_next_posts_version(
    tmp_path: Path, store: Store, builds: list[Any]
) -> None:
    """A decision's rebuild takes its post's linkback mark: a later version move that changes
    nothing (a moderator's password) rebuilds nothing, and the files stay a fresh export's."""
    settings = load_test_settings(tmp_path)
    live = LiveState(settings, store)
    await live.refresh(force=True)
    folder = tmp_path / "export"
    feeds = FeedFiles(folder, settings, live.canonicaliser)
    await _export(folder, live, feeds)
    await decide(settings, store, tmp_path)
    await _export(folder, live, feeds)
    builds.clear()
    await set_password(settings, store, tmp_path)
    await _export(folder, live, feeds)
    assert builds == []
    fresh_live = LiveState(settings, store)
    await fresh_live.refresh(force=True)
    fresh = FeedFiles(tmp_path / "fresh", settings, fresh_live.canonicaliser)
    await _export(tmp_path / "fresh", fresh_live, fresh)
    assert _named(folder) == _named(tmp_path / "fresh")
