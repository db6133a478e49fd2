"""The accessibility surface as a derived build (tiles/builds.py): made per data version of the
roads, the service points and the districts, stored in `accessibility_cells`
(geo/planning/accessibility.py), never computed by a GET. Writing it bumps the table's data
version, so the `accessibility` layer's tiles move on."""

from __future__ import annotations

import asyncio

import asyncpg
import psycopg

from geo.planning import accessibility
from tiles.builds import Builder, Built
from tiles.versions import VersionMap, data_token, read_versions

ACCESSIBILITY = "accessibility:surface"
FORMAT = 1  # of the stored build; another format is built again
TABLES = ("roads", "service_points", "districts")


def surface_token(versions: VersionMap) -> str:
    """The token of a surface made from these versions."""
    return data_token(f"{ACCESSIBILITY}/{FORMAT}", versions, TABLES)


class AccessibilitySurface:
    """The surface's builder (see the module docstring)."""

    name, kind, auto, reload, lane = ACCESSIBILITY, "accessibility", True, False, "db"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool, self.url = pool, url

    async def wanted(self, versions: VersionMap) -> str | None:
        """The token of the surface of the current data."""
        return surface_token(versions)

    async def load(self) -> Built | None:
        """The build in the table, if any."""
        return await asyncio.to_thread(_stored, self.url)

    async def build(self) -> Built:
        """Build from the current data (unless the stored build is of it)."""
        async with self.pool.acquire() as conn:
            token = surface_token(await read_versions(conn))
        return await asyncio.to_thread(build_surface, self.url, token)


def _stored(url: str) -> Built | None:
    with psycopg.connect(url) as conn:
        found = accessibility.built(conn)
    return None if found is None else Built(found[0], None, found[1])


def build_surface(url: str, token: str) -> Built:
    """One build in one transaction (one snapshot); returns at once when already built."""
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('djmap:accessibility'))")
        found = accessibility.built(conn)
        if found is not None and found[0] == token:
            return Built(token, None, found[1])
        accessibility.rebuild(conn, token)
        found = accessibility.built(conn)  # its time is the transaction's
    return Built(token, None, found[1] if found else accessibility.stamp())


def accessibility_builders(pool: asyncpg.Pool, url: str) -> list[Builder]:
    """The surface's build (registered in api/services.py's derived_builders)."""
    return [AccessibilitySurface(pool, url)]
