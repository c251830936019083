"""Posts, linkbacks and contexts for the feed tests, built from the model dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from linkbridge.feeds import Farewell, FeedContext
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, Post

CET = timezone(timedelta(hours=1))
BASE = "http://www.naringsbloggen.se/"
SHUTDOWN = datetime(2018, 2, 1, tzinfo=CET)
SEED_PERMALINK = (
    "http://www.naringsbloggen.se/innovation/innovationsstrategi/"
    "innovationsupphandling-pa-frammarsch/"
)


def make_post(post_id: int = 12, **over: Any) -> Post:
    fields: dict[str, Any] = {
        "blog": "/innovation/",
        "post_id": post_id,
        "permalink": SEED_PERMALINK,
        "path": "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
        "slug": "innovationsupphandling-pa-frammarsch",
        "title": "Innovationsupphandling på frammarsch",
        "excerpt": "Seminariet Innovationer på beställning.",
        "author": "annieloof",
        "published_at": datetime(2013, 10, 1, 9, 30, tzinfo=CET),
    }
    fields.update(over)
    return Post(**fields)


def make_linkback(linkback_id: int = 1, **over: Any) -> Linkback:
    created = datetime(2013, 10, 30, 8, 0, tzinfo=UTC) + timedelta(hours=linkback_id)
    fields: dict[str, Any] = {
        "id": linkback_id,
        "blog": "/innovation/",
        "post_id": 12,
        "source_url": f"https://www.logistikfokus.se/omvarldsspaning-oktober-2013-{linkback_id}/",
        "source_canonical": f"logistikfokus.se/omvarldsspaning-oktober-2013-{linkback_id}",
        "source_host": "logistikfokus.se",
        "protocol": LinkbackProtocol.PINGBACK,
        "state": LinkbackState.APPROVED,
        "created_at": created,
        "updated_at": created + timedelta(days=1),
        "title": "Omvärldsspaning oktober 2013",
        "excerpt": "[…] innovationsupphandling på frammarsch […]",
        "blog_name": "Logistikfokus",
    }
    fields.update(over)
    return Linkback(**fields)


FAREWELL = Farewell(
    title="Näringsbloggen har stängt / Näringsbloggen has closed",
    notices=(
        "Näringsbloggen har upphört. Följ oss på Twitter: @naringsdep",
        "Näringsbloggen has closed. Follow us on Twitter: @naringsdep",
    ),
    web_url="https://www.regeringen.se/sveriges-regering/naringsdepartementet/",
    social_url="https://x.com/naringsdep",
    at=SHUTDOWN,
)


def make_context(*, farewell: bool = False, **over: Any) -> FeedContext:
    fields: dict[str, Any] = {
        "public_base_url": BASE,
        "site_title": "Näringsbloggen",
        "self_url": BASE + "innovation/feed/",
        "html_url": BASE + "innovation/",
        "blog": "/innovation/",
        "blog_titles": {"/": "Näringsbloggen", "/innovation/": "Innovationsbloggen"},
        "farewell": FAREWELL if farewell else None,
    }
    fields.update(over)
    return FeedContext(**fields)


@pytest.fixture
def post_factory() -> Callable[..., Post]:
    return make_post


@pytest.fixture
def linkback_factory() -> Callable[..., Linkback]:
    return make_linkback


@pytest.fixture
def context_factory() -> Callable[..., FeedContext]:
    return make_context
