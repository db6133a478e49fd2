"""Cheap argon2id hashes for tests: one pass over 1 MiB (about 1 ms) instead of geo.users'
three over 64 MiB (0.2 s on a quiet machine, over 1 s on a busy one), per hash and per check.

conftest.py puts `TEST_HASHER` into geo.users for the test process (users the tests add get cheap
hashes; a hash carries its parameters, so any server checks them as cheaply). `create_app` is the
app for a server a test starts that must also hash cheaply where the server itself hashes: the
dummy hash an unknown name is checked against, and passwords set through the API (the contract's
fuzzed logins and admin calls):

    uvicorn --app-dir tests cheap_hashes:create_app --factory

Production (api.app:create_app, djmap serve) keeps geo.users' defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from geo import users

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.settings import Settings

TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def use_cheap_hashes() -> PasswordHasher:
    """Put TEST_HASHER into geo.users (this process); return the hasher it had."""
    old = users._HASHER
    users._HASHER = TEST_HASHER
    users.dummy_hash.cache_clear()
    return old


def create_app(settings: Settings | None = None) -> FastAPI:
    """api.app:create_app in a process that hashes cheaply."""
    from api.app import create_app as make

    use_cheap_hashes()
    return make(settings)
