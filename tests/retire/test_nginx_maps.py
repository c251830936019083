"""The pieces of the nginx export that nginx itself does not check: the clock comparison and
the hash sizes (nginx -t checks the config they produce: tests/retire_e2e/test_nginx_export.py)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from linkbridge.retire.nginx import at_least, hash_sizes, phase_map


@pytest.mark.parametrize("number", [0, 1, 9, 10, 99, 100, 1999, 1517439600, 4070905200,
                                    9999999999])
def test_at_least_matches_exactly_the_numbers_from_its_bound(number: int) -> None:
    pattern = re.compile(f"^(?:{at_least(number)})$")
    rng = random.Random(number)
    around = range(max(0, number - 1100), number + 1100)
    spread = [rng.randrange(0, 10 * number + 10) for _ in range(2000)]
    for x in [*around, *spread, 10 * number, 10**11]:
        assert bool(pattern.match(str(x))) == (x >= number), x


def _phase(text: str, msec: str) -> str:
    """What nginx's map gives for `$msec`: the first regex that matches, else the default."""
    for line in text.splitlines():
        found = re.fullmatch(r'\s*"~(.+)" (\w+);', line)
        if found and re.match(found[1], msec):
            return found[2]
    return "before"


def test_phase_map_agrees_with_linkbridge_to_the_millisecond() -> None:
    whole = phase_map(datetime(2018, 2, 1, tzinfo=UTC))
    assert [_phase(whole, t) for t in ("1517443199.999", "1517443200.000", "1600000000.1")] == [
        "before", "after", "after"]
    # an instant inside a second: during that second nginx says neither (linkbridge answers)
    odd = phase_map(datetime(2018, 2, 1, 0, 0, 0, 500000, tzinfo=UTC))
    assert [_phase(odd, t) for t in ("1517443199.999", "1517443200.700", "1517443201.000")] == [
        "before", "instant", "after"]


def test_hash_sizes_fit_long_and_many_keys() -> None:
    assert hash_sizes("", "") == (2048, 64)
    long_key = f'"after /{"a" * 200}/feed/" "x.rss";\n'
    assert hash_sizes(long_key)[1] >= 256
    many = "".join(f'"/p{n}?" "301 https://x.se/";\n' for n in range(5000))
    assert hash_sizes(many, long_key) == (16384, 256)
