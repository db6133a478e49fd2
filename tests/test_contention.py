"""A write the server aborted for a deadlock or a serialization failure runs again as a new
transaction, and when it keeps failing the caller gets 503 with Retry-After, never a 500 (a
deleted organisation once deadlocked with a derived build and answered 500)."""

from __future__ import annotations

import asyncio

import asyncpg
import psycopg.errors
import pytest

from geo.db.pool import as_unavailable, retried


def test_a_deadlocked_step_runs_again_and_then_succeeds() -> None:
    tries: list[int] = []

    async def step() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return "written"

    assert asyncio.run(retried(step)) == "written"
    assert len(tries) == 3


def test_contention_that_persists_is_a_503_and_other_errors_are_not_retried() -> None:
    tries: list[int] = []

    async def always() -> None:
        tries.append(1)
        raise asyncpg.SerializationError("could not serialize access")

    with pytest.raises(asyncpg.SerializationError) as caught:
        asyncio.run(retried(always, attempts=2))
    assert len(tries) == 2
    err = as_unavailable(caught.value)
    assert err is not None and err.retry_after == 1
    assert as_unavailable(psycopg.errors.DeadlockDetected("deadlock")) is not None

    async def broken() -> None:
        tries.append(1)
        raise asyncpg.UniqueViolationError("duplicate key")

    tries.clear()
    with pytest.raises(asyncpg.UniqueViolationError):
        asyncio.run(retried(broken))
    assert len(tries) == 1  # not contention: no second try
