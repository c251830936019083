"""`linkbridge moderate …` and `linkbridge import wxr` as subprocesses against a real store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState
from linkbridge.store.sqlite import SqliteStore
from tests.support import EXAMPLE_WXR
from tests.support.serve import config_args, run_cli, store_overlay

S = LinkbackState
NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def cfg(tmp_path: Path) -> list[str]:
    return config_args(store_overlay(tmp_path))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The same file the CLI uses, opened by the test (a second process on one store)."""
    s = SqliteStore(tmp_path / "linkbridge.db")
    await s.open()
    yield s
    await s.close()


async def seed(store: SqliteStore, host: str, n: int, state: LinkbackState = S.HELD) -> int:
    """A linkback row from `host` in `state`; returns its id."""
    draft = LinkbackDraft(
        blog="/innovation/",
        post_id=2187,
        source_url=f"http://{host}/inlagg-{n}/",
        source_canonical=f"{host}/inlagg-{n}",
        source_host=host,
        protocol=LinkbackProtocol.PINGBACK,
        title=f"Inlägg {n} hos {host}",
        state=state,
    )
    result = await store.record_linkback(draft, NOW, resend_is_duplicate=True)
    return result.linkback.id


def ok(*args: str) -> str:
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ------------------------------------------------------------------ import wxr


def test_import_wxr_is_idempotent(cfg: list[str]) -> None:
    first = ok("import", "wxr", *cfg, str(EXAMPLE_WXR))
    assert first.strip() == f"{EXAMPLE_WXR}: blog /innovation/: 2 posts, 1 new linkbacks"
    second = ok("import", "wxr", *cfg, str(EXAMPLE_WXR))
    assert second.strip() == f"{EXAMPLE_WXR}: blog /innovation/: 2 posts, 0 new linkbacks"
    rows = json.loads(ok("moderate", "list", "--json", *cfg))
    assert [(r["state"], r["protocol"]) for r in rows] == [("approved", "pingback")]
    assert rows[0]["source_host"].endswith("logistikfokus.se")


async def test_truncated_wxr_imports_nothing(
    cfg: list[str], tmp_path: Path, store: SqliteStore
) -> None:
    text = EXAMPLE_WXR.read_text(encoding="utf-8")
    cut = text.index("<wp:comment_id>5304</wp:comment_id>")  # in the middle of the pingback
    truncated = tmp_path / "truncated.wxr"
    truncated.write_text(text[:cut], encoding="utf-8")

    done = run_cli("import", "wxr", *cfg, str(truncated))
    assert done.returncode == 1
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("wxr: ")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"wxr: {truncated}: line ")  # says where it broke
    assert done.stdout == ""
    assert await store.all_posts() == []
    assert await store.list_linkbacks() == []


async def test_truncated_wxr_leaves_an_earlier_import_alone(
    cfg: list[str], tmp_path: Path, store: SqliteStore
) -> None:
    ok("import", "wxr", *cfg, str(EXAMPLE_WXR))
    before = await store.all_posts()
    text = EXAMPLE_WXR.read_text(encoding="utf-8")
    truncated = tmp_path / "truncated.wxr"
    truncated.write_text(text[: text.index("<title>Om bloggen</title>")], encoding="utf-8")
    assert run_cli("import", "wxr", *cfg, str(truncated)).returncode == 1
    assert await store.all_posts() == before  # no post became a tombstone


def test_import_of_a_missing_file_says_so(cfg: list[str], tmp_path: Path) -> None:
    done = run_cli("import", "wxr", *cfg, str(tmp_path / "saknas.wxr"))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"{tmp_path / 'saknas.wxr'}: cannot read the WXR file: No such file or directory"


# ------------------------------------------------------------------ moderate


async def test_list_shows_the_queue(cfg: list[str], store: SqliteStore) -> None:
    assert ok("moderate", "list", *cfg).strip() == "no linkbacks"
    held = await seed(store, "blogg.example.se", 1)
    failed = await seed(store, "annan.example.se", 2, S.FAILED)
    text = ok("moderate", "list", *cfg)
    assert "blogg.example.se/inlagg-1/" in text
    assert "held" in text
    rows = json.loads(ok("moderate", "list", "--json", "--state", "held", *cfg))
    assert [r["id"] for r in rows] == [held]
    rows = json.loads(ok("moderate", "list", "--json", *cfg))
    assert {r["id"] for r in rows} == {held, failed}
    assert len(json.loads(ok("moderate", "list", "--json", "--limit", "1", *cfg))) == 1


async def test_approve_and_reject_record_who_and_why(cfg: list[str], store: SqliteStore) -> None:
    a = await seed(store, "blogg.example.se", 1)
    b = await seed(store, "blogg.example.se", 2)
    v, _ = await store.feed_changes(0)
    out = ok("moderate", "approve", *cfg, "--by", "anna", "--reason", "relevant", str(a))
    assert out.strip() == f"{a}: approved"
    assert (await store.feed_changes(0))[0] > v  # servers polling feed versions pick it up
    out = ok("moderate", "reject", *cfg, "--by", "anna", str(b), "--at", "2017-12-02T10:00:00Z")
    assert out.strip() == f"{b}: rejected"
    last = (await store.decisions(a))[-1]
    assert (last.old_state, last.new_state, last.actor, last.reason) == (
        S.HELD,
        S.APPROVED,
        "anna",
        "relevant",
    )
    last = (await store.decisions(b))[-1]
    at = datetime(2017, 12, 2, 10, tzinfo=UTC)
    assert last.new_state == S.REJECTED
    assert at <= last.at < at + timedelta(hours=1)  # --at starts a clock that runs on


async def test_illegal_transition_is_an_error(cfg: list[str], store: SqliteStore) -> None:
    failed = await seed(store, "blogg.example.se", 1, S.FAILED)
    done = run_cli("moderate", "approve", *cfg, str(failed))
    assert done.returncode == 1
    assert done.stderr.strip() == (f"store: linkback {failed} cannot go from failed to approved")
    lb = await store.get_linkback(failed)
    assert lb is not None
    assert lb.state == S.FAILED


async def test_unknown_id_is_an_error(cfg: list[str], store: SqliteStore) -> None:
    done = run_cli("moderate", "approve", *cfg, "999")
    assert done.returncode == 1
    assert done.stderr.strip() == "store: no linkback 999"


@pytest.mark.parametrize(
    ("block", "entry"), [("host", "blogg.spamsajt.se"), ("domain", "spamsajt.se")]
)
async def test_spam_can_block_host_or_domain(
    cfg: list[str], store: SqliteStore, block: str, entry: str
) -> None:
    lb = await seed(store, "blogg.spamsajt.se", 1)
    out = ok("moderate", "spam", *cfg, "--by", "anna", "--block", block, str(lb))
    assert out.splitlines() == [f"{lb}: spam", f"blocked {entry}"]
    assert await store.list_hosts("block") == [entry]


async def test_spam_without_block_blocks_nothing(cfg: list[str], store: SqliteStore) -> None:
    lb = await seed(store, "www.spamsajt.se", 1)
    assert ok("moderate", "spam", *cfg, str(lb)).strip() == f"{lb}: spam"
    assert await store.list_hosts("block") == []


async def test_block_and_unblock(cfg: list[str], store: SqliteStore) -> None:
    assert ok("moderate", "block", *cfg, "--reason", "skräp", "SPAM.Example.COM.").strip() == (
        "blocked spam.example.com"
    )
    assert await store.list_hosts("block") == ["spam.example.com"]
    assert ok("moderate", "unblock", *cfg, "spam.example.com").strip() == (
        "unblocked spam.example.com"
    )
    assert await store.list_hosts("block") == []
    assert ok("moderate", "unblock", *cfg, "spam.example.com").strip() == (
        "spam.example.com was not blocked"
    )
