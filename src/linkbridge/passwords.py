"""Moderators' password hashes (argon2id) and the switch that keeps /admin off until one is set."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from functools import lru_cache
from typing import TYPE_CHECKING

from linkbridge.errors import LinkbridgeError
from linkbridge.store import Store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

DEFAULT_USER = "admin"
MAX_PASSWORD_CHARS = 1024
"""Longer input is refused before hashing: argon2 is costly, and nobody types that much."""


class WeakPassword(LinkbridgeError):
    """A password `admin set-password` refuses."""

    status = 400
    reason = "weak_password"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # here: only a login needs it, not the start-up

    return PasswordHasher()  # argon2id with the library's recommended parameters


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the user is unknown, so both answers take as long."""
    return _hasher().hash("linkbridge: no such moderator")


def check_password_policy(password: str, min_chars: int) -> None:
    """Raise WeakPassword unless the password is long enough (and not absurdly long)."""
    if len(password) < min_chars:
        raise WeakPassword(f"passwords: at least {min_chars} characters, please")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"passwords: at most {MAX_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    """An argon2id hash string (salted; safe to store)."""
    return _hasher().hash(password)


def _verify(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(
    store: Store, username: str, password: str, *, executor: Executor | None = None
) -> bool:
    """True when `password` is `username`'s; argon2 compares in constant time, off the loop
    (on `executor`, else the default one)."""
    if not username or len(password) > MAX_PASSWORD_CHARS:
        return False
    stored = await store.admin_password_hash(username)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, _verify, stored, password)


class AdminGate:
    """Whether any moderator has a password, re-read only when the store's version moves."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: int | None = None
        self._enabled = False

    async def enabled(self, version: int) -> bool:
        """Cached per store version (`set_admin_password` bumps it)."""
        if version != self._version:
            self._enabled = bool(await self.store.admin_users())
            self._version = version
        return self._enabled
