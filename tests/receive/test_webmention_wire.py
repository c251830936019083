"""Webmention wire format: each 400 case of the W3C receiver rules, and Accept negotiation."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from linkbridge.receive.webmention_wire import (
    WebmentionError,
    WebmentionRequest,
    parse_webmention,
)

FORM = "application/x-www-form-urlencoded"
SOURCE = "https://elsewhere.example/2017/12/a-reply"
TARGET = "http://www.naringsbloggen.se/innovation/nyheter/ett-inlagg/"


def mention(
    body: bytes, content_type: str | None = FORM, max_body_bytes: int = 65536
) -> WebmentionRequest:
    return parse_webmention(body, content_type, max_body_bytes=max_body_bytes)


def refused(body: bytes, content_type: str | None = FORM, max_body_bytes: int = 65536) -> str:
    with pytest.raises(WebmentionError) as caught:
        mention(body, content_type, max_body_bytes)
    error = caught.value
    assert error.status == 400
    assert str(error) == f"webmention: {error.detail}"
    return error.reason


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_a_valid_mention() -> None:
    got = mention(form(source=SOURCE, target=TARGET), f"{FORM}; charset=UTF-8")
    assert got == WebmentionRequest(SOURCE, TARGET)


def test_urls_are_returned_as_sent_with_whitespace_stripped() -> None:
    got = mention(form(source=f"  {SOURCE}\n", target=TARGET + "#comments"))
    assert got == WebmentionRequest(SOURCE, TARGET + "#comments")


def test_unicode_urls_are_fine() -> None:
    assert mention(form(source="https://exempel.se/räka", target=TARGET)).source.endswith("räka")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (form(target=TARGET), "webmention_missing_source"),
        (form(source="", target=TARGET), "webmention_missing_source"),
        (form(source=" ", target=TARGET), "webmention_missing_source"),
        (form(source=SOURCE), "webmention_missing_target"),
        (form(source=SOURCE, target=""), "webmention_missing_target"),
        (b"", "webmention_missing_source"),
    ],
)
def test_missing_fields(body: bytes, reason: str) -> None:
    assert refused(body) == reason


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://elsewhere.example/x",
        "javascript:alert(1)",
        "mailto:a@example.org",
        "elsewhere.example/x",
        "/relative/path",
        "http:///no-host",
        "http://",
        "http://a.example:99999/",
        "http://a.example:0/",
        "http://a.example:port/",
        "http://a example/",
        "http://a.example/\x00",
        "http://[::1/",
    ],
)
def test_not_http_urls(bad: str) -> None:
    assert refused(form(source=bad, target=TARGET)) == "webmention_not_http_url"
    assert refused(form(source=SOURCE, target=bad)) == "webmention_not_http_url"


def test_source_not_utf8_is_not_a_url() -> None:
    body = b"source=http%3A%2F%2Fa.example%2F%FF&target=" + TARGET.encode()
    assert refused(body) == "webmention_not_http_url"


@pytest.mark.parametrize(
    "source",
    [
        TARGET,
        TARGET + "#reply",
        TARGET.replace("http://www.", "HTTP://WWW.")
        .upper()
        .replace("/INNOVATION/NYHETER/ETT-INLAGG/", "/innovation/nyheter/ett-inlagg/"),
        TARGET.replace("naringsbloggen.se/", "naringsbloggen.se:80/"),
        TARGET.replace("naringsbloggen.se/", "naringsbloggen.se./"),
    ],
)
def test_source_equal_to_target_is_refused(source: str) -> None:
    assert refused(form(source=source, target=TARGET)) == "webmention_source_is_target"


def test_different_scheme_or_query_is_not_the_same_url() -> None:
    assert mention(form(source=TARGET.replace("http:", "https:"), target=TARGET))
    assert mention(form(source=TARGET + "?replytocom=1", target=TARGET))


def test_body_size_at_its_edge() -> None:
    body = form(source=SOURCE, target=TARGET)
    assert mention(body, max_body_bytes=len(body)).target == TARGET
    assert refused(body, max_body_bytes=len(body) - 1) == "webmention_body_too_large"


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "multipart/form-data; boundary=x", "text/plain", "nonsense"],
)
def test_not_form_encoded(content_type: str | None) -> None:
    assert (
        refused(form(source=SOURCE, target=TARGET), content_type) == "webmention_not_form_encoded"
    )


