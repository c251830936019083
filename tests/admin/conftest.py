"""Fixtures for the admin tests: a running app with the admin page turned on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support import Client
from tests.support.admin import enable_admin


@pytest.fixture
async def admin_app(lb_app: Callable[..., Awaitable[Client]]) -> Callable[..., Awaitable[Client]]:
    """`client = await admin_app(...)`: lb_app with a moderator's password set."""

    async def start(**kwargs: Any) -> Client:
        client = await lb_app(**kwargs)
        await enable_admin(client)
        return client

    return start
