"""One content negotiator: the middleware's error bodies and the webmention status page agree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkbridge.negotiate import wants_json
from tests.support import BEFORE, AppFactory

SAMPLES = [
    "application/json, text/html",
    "text/html;q=0.9, application/json",
    "application/json;q=0.1, text/html",
    "application/ld+json",
    "text/plain, application/json",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "*/*",
    "",
]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/html", False),
        ("application/json", True),
        ("application/activity+json", True),
        ("application/json, text/html;q=0.9", True),
        ("text/html, application/json;q=0.9", False),
        ("text/html;q=0.5, application/json", True),
        ("application/json;q=0", False),
        ("application/json;q=bogus", False),
        ("text/plain, application/json", False),
        ("application/json, text/plain", True),
        ("application/json, */*;q=0.8", True),
        ("APPLICATION/JSON", True),
    ],
)
def test_wants_json(accept: str | None, expected: bool) -> None:
    assert wants_json(accept) is expected


@given(st.one_of(st.none(), st.text()))
def test_never_raises(accept: str | None) -> None:
    assert wants_json(accept) in (True, False)


@pytest.mark.parametrize("accept", SAMPLES)
async def test_middleware_errors_and_the_webmention_status_page_agree(
    lb_app: AppFactory, accept: str
) -> None:
    client = await lb_app(at=BEFORE)
    headers = {"Accept": accept}
    status_page = await client.get("/webmention/no-such-id", headers=headers)
    middleware_error = await client.get("/%FF%FE/", headers=headers)
    assert (status_page.status, middleware_error.status) == (404, 400)
    expected = "application/json" if wants_json(accept) else None
    kinds = {r.content_type for r in (status_page, middleware_error)}
    assert len(kinds) == 1, kinds
    if expected:
        assert kinds == {expected}
    else:
        assert "application/json" not in kinds
