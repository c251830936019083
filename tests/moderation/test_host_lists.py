"""Host list look-ups: one per label of the host, the same answers as matching every entry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.moderation.rules import HostLists, ascii_host

LABELS = st.sampled_from(["www", "a", "b", "spam", "example", "com", "se", "xn--bcher-kva",
                          "Bücher", "EXAMPLE", "", "co", "uk"])
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join) | st.sampled_from(
    ["www.www.example.com", "example.com.", ".", "", "www."])


def host_matches(host: str, entry: str) -> bool:
    """The rule, entry by entry: an entry matches itself and its subdomains, folded."""
    host, entry = ascii_host(host), ascii_host(entry)
    return host == entry or host.endswith("." + entry)


@settings(max_examples=400, deadline=None)
@given(host=NAMES, entries=st.lists(NAMES, max_size=6))
def test_a_list_matches_as_its_entries_do(host: str, entries: list[str]) -> None:
    lists = HostLists(blocked=frozenset(entries), allowed=frozenset(entries))
    expected = any(host_matches(host, entry) for entry in entries)
    assert lists.is_blocked(host) is expected
    assert lists.is_allowed(host) is expected


def test_a_long_list_matches_parents_only() -> None:
    lists = HostLists(blocked=frozenset(f"spam{i}.example" for i in range(5000)))
    assert lists.is_blocked("www.spam42.example")
    assert lists.is_blocked("a.b.spam4999.example")
    assert not lists.is_blocked("spam42.example.org")
    assert not lists.is_blocked("notspam42.example")
