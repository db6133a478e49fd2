"""Organisation health scores as a derived build (tiles/builds.py): made per data version of the
evidence (organisations, members, activities, check-ins, meetings, terms, dues, the rules) and
per day in Beijing (due dates move with the calendar), stored in `org_health_scores`
(geo/health/store.py), never computed by a GET. Writing the scores bumps that table's data
version, so the health layer's tiles move on and the live worker announces it as
`data.changed`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

import asyncpg

from geo.health import clock, evidence, store
from tiles.builds import Builder, Built
from tiles.versions import VersionMap, data_token, read_versions

HEALTH = "health:scores"
FORMAT = 2  # of the stored build; another format is built again (2: children weighed by size class)


def scores_token(versions: VersionMap, day: date) -> str:
    """The token of scores made from these versions on this day."""
    return data_token(f"{HEALTH}@{day.isoformat()}/{FORMAT}", versions, evidence.TABLES)


class HealthScores:
    """The health scores' builder (see the module docstring)."""

    name, kind, auto, reload, lane = HEALTH, "health", True, False, "db"

    def __init__(self, pool: asyncpg.Pool, today: Callable[[], date] = clock.today) -> None:
        self.pool, self.today = pool, today

    async def wanted(self, versions: VersionMap) -> str | None:
        """The token of today's scores of the current data."""
        return scores_token(versions, self.today())

    async def load(self) -> Built | None:
        """The build in the table, if any."""
        async with self.pool.acquire() as conn:
            found = await store.built_token(conn)
        return None if found is None else Built(found[0], None, found[1])

    async def build(self) -> Built:
        """Score every organisation (unless the stored build is of the current data)."""
        return await build_scores(self.pool, self.today())


async def build_scores(pool: asyncpg.Pool, day: date) -> Built:
    """One build under the lock, in one transaction; returns at once when already built."""
    async with pool.acquire() as conn, conn.transaction():
        await store.lock(conn)
        token = scores_token(await read_versions(conn), day)
        found = await store.built_token(conn)
        if found is not None and found[0] == token:
            return Built(token, None, found[1])
        await store.rebuild(conn, token, day)
    return Built(token, None, time.time())


def health_builders(pool: asyncpg.Pool) -> list[Builder]:
    """The health build (registered in api/services.py's derived_builders)."""
    return [HealthScores(pool)]
