"""The bounded memo the hot paths remember with: full at its limit, never past it."""

from __future__ import annotations

import pytest

from linkbridge.memo import BoundedMemo


def test_the_memo_holds_its_limit_then_starts_afresh() -> None:
    memo: BoundedMemo[int, str] = BoundedMemo(3)
    sizes = [len(memo) for n in range(7) if memo.remember(n, str(n))]
    assert sizes == [1, 2, 3, 1, 2, 3, 1]
    assert memo == {6: "6"}


def test_a_known_key_is_answered_as_remembered() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    assert memo.remember("a", 1) == 1
    assert memo.get("a") == 1
    assert memo.get("b") is None


def test_a_memo_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMemo(0)
    one: BoundedMemo[str, int] = BoundedMemo(1)
    assert one.remember("only", 1) == 1
