"""The address policy on its own: addresses, URL spellings, the filtering resolver."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from linkbridge.verify.guard import (
    AddressPolicy,
    AddressRefusedError,
    GuardedResolver,
    embedded_ipv4,
    host_literal,
    socket_factory,
)
from tests.support.verify import ScriptedResolver

STRICT = AddressPolicy((), (80, 443))

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "0.0.0.0",
    "0.1.2.3",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::10.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2001:db8::1",
    "2001::1",
    "not an address",
]
ALLOWED = [
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.0",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert not STRICT.allows(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_global_unicast_is_allowed(address: str) -> None:
    assert STRICT.allows(address)


@pytest.mark.parametrize(
    ("v6", "v4"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::127.0.0.1", "127.0.0.1"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("2606:4700::1", None),
        ("::1", None),
    ],
)
def test_embedded_ipv4_is_unwrapped(v6: str, v4: str | None) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(v6))
    assert (str(found) if found else None) == v4


def test_allowance_exempts_exactly_its_networks() -> None:
    policy = AddressPolicy(("127.0.0.2/32",), (80,))
    assert policy.allows("127.0.0.2")
    assert policy.allows("::ffff:127.0.0.2")
    assert not policy.allows("127.0.0.1")
    assert not policy.allows("127.0.0.3")
    assert not policy.allows("10.0.0.1")


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0X7F000001",
        "0177.0.0.1",
        "127.1",
        "127.0.1",
        "0x7f.0.0.1",
        "0x7f.1",
        "127.0.0.1.",
        "017700000001",
        "10.0.0.010",
        "1.2.3.256",
        "1.2.3.4.5",
        "example.0x1",
        "example.123",
        "%31%32%37.0.0.1",
        "a b.example",
        "exa_mple..com",
        "a" * 64 + ".example",
        ("a" * 60 + ".") * 5 + "example",
    ],
)
def test_odd_host_spellings_are_refused(host: str) -> None:
    with pytest.raises(AddressRefusedError, match=r"^guard: "):
        host_literal(host)


@pytest.mark.parametrize(
    ("host", "literal"),
    [
        ("example.com", None),
        ("example.com.", None),
        ("cafe.de", None),
        ("0x7f.example.com", None),
        ("1.2.3.example", None),
        ("xn--bcher-kva.de", None),
        ("8.8.8.8", "8.8.8.8"),
        ("127.0.0.1", "127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
    ],
)
def test_names_and_canonical_literals(host: str, literal: str | None) -> None:
    found = host_literal(host)
    assert (str(found) if found else None) == literal


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com:70/", "only http and https"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http://example.com:8080/", "port 8080"),
        ("https://example.com:22/", "port 22"),
        ("http:///path", "no host"),
        ("http://127.0.0.1/", "refused by address policy"),
        ("http://[::1]/", "refused by address policy"),
        ("http://[fe80::1%25eth0]/", "refused by address policy"),
        ("http://[::ffff:127.0.0.1]/", "refused by address policy"),
        ("http://１２７.０.０.１/", "refused by address policy"),
        ("http://2130706433/", "odd IPv4 spelling"),
    ],
)
def test_url_prechecks(url: str, why: str) -> None:
    with pytest.raises(AddressRefusedError, match=why):
        STRICT.check_url(URL(url))


def test_public_urls_pass_the_precheck() -> None:
    STRICT.check_url(URL("https://example.com/a?b=c"))
    STRICT.check_url(URL("http://8.8.8.8/"))
    STRICT.check_url(URL("http://[2606:4700:4700::1111]/"))


async def test_resolver_keeps_only_allowed_answers() -> None:
    inner = ScriptedResolver({"mixed.test": [["93.184.216.34", "127.0.0.1", "10.1.2.3"]]})
    answers = await GuardedResolver(STRICT, inner).resolve("mixed.test", 80)
    assert [a["host"] for a in answers] == ["93.184.216.34"]


async def test_resolver_refuses_a_name_with_only_refused_answers() -> None:
    inner = ScriptedResolver({"internal.test": [["127.0.0.1", "::1", "169.254.169.254"]]})
    with pytest.raises(AddressRefusedError, match="resolves only to refused addresses"):
        await GuardedResolver(STRICT, inner).resolve("internal.test", 80)


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "127.1", "127.0.0.1"])
async def test_resolver_refuses_numeric_hosts_without_asking_dns(host: str) -> None:
    inner = ScriptedResolver({})
    with pytest.raises(AddressRefusedError):
        await GuardedResolver(STRICT, inner).resolve(host, 80)
    assert inner.calls == []


def test_socket_factory_refuses_before_a_socket_exists() -> None:
    make = socket_factory(STRICT)
    for address in (("127.0.0.1", 80), ("10.0.0.1", 80), ("::1", 80, 0, 0)):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with pytest.raises(AddressRefusedError):
            make((family, socket.SOCK_STREAM, 6, "", address))
    sock = make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)))
    sock.close()  # made, never connected


@given(st.text(max_size=80))
def test_host_literal_never_fails_otherwise(host: str) -> None:
    with contextlib.suppress(AddressRefusedError):
        host_literal(host)


@given(st.text(max_size=60))
def test_allows_never_raises(address: str) -> None:
    assert STRICT.allows(address) in (True, False)
