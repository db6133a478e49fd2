"""Coverage per 党建网格 as a derived build (tiles/builds.py, issue 14 §4): made per data version
of the grids, the service points, the buildings, the members and the roads, stored in
`grid_coverage` (geo/planning/grid_coverage.py, which the grids layer reads), never computed by a
GET. The token of the stored figures is kept beside the other builds in the home,
`<home>/builds/grid_coverage/token-<database>.json` (the table has no column for it), so a restart
serves the last figures and builds only when the data moved on. `djmap grids coverage` still
forces a computation (at any circle)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psycopg

from geo.planning import grid_coverage
from geo.scope import Principal
from tiles.builds import Builder, Built
from tiles.versions import VersionMap, data_token, read_versions

GRID_COVERAGE = "grid_coverage:figures"
FORMAT = 1  # of the stored build; another format is built again
TABLES = ("grids", "service_points", "buildings", "members", "roads")
MINUTES, MODE = 15.0, "walk"  # the circle the grids layer shows
SERVER = Principal(role="admin")  # as the CLI: the build stores published figures only


def database_key(url: str) -> str:
    """A short name of the database a URL points at (never its password), as web/pagedata.py's:
    a home shared by several databases keeps one token per database."""
    parts = urlsplit(url)
    where = f"{parts.username}@{parts.hostname}:{parts.port}{parts.path}?{parts.query}"
    return hashlib.blake2b(where.encode(), digest_size=8).hexdigest()


def figures_token(versions: VersionMap) -> str:
    """The token of grid coverage made from these versions."""
    return data_token(f"{GRID_COVERAGE}@{MINUTES:g}{MODE}/{FORMAT}", versions, TABLES)


class GridCoverage:
    """The grid coverage's builder (see the module docstring)."""

    name, kind, auto, reload, lane = GRID_COVERAGE, "grid_coverage", True, False, "db"

    def __init__(self, pool: asyncpg.Pool, home: Path, url: str) -> None:
        self.pool, self.url = pool, url
        self.path = Path(home) / "builds" / "grid_coverage" / f"token-{database_key(url)}.json"

    async def wanted(self, versions: VersionMap) -> str | None:
        """The token of the coverage of the current data."""
        return figures_token(versions)

    async def load(self) -> Built | None:
        """The last build's token, if any (its figures are in the table)."""
        return await asyncio.to_thread(read_token, self.path)

    async def build(self) -> Built:
        """Compute and store every grid's coverage (unless the stored one is of this data)."""
        async with self.pool.acquire() as conn:
            token = figures_token(await read_versions(conn))
        return await asyncio.to_thread(build_figures, self.url, self.path, token)


def read_token(path: Path) -> Built | None:
    """The stored token (None when absent, unreadable or of another format)."""
    try:
        doc = json.loads(path.read_bytes())
        if doc.get("format") != FORMAT:
            return None
        return Built(str(doc["token"]), None, float(doc["built_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_token(path: Path, built: Built) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "token": built.token, "built_at": built.built_at}
    part = path.with_suffix(".part")
    part.write_text(json.dumps(doc), encoding="utf-8")
    part.replace(path)


def build_figures(url: str, path: Path, token: str) -> Built:
    """One build in one transaction (one snapshot), under a lock; returns at once when the
    stored figures are of this token."""
    found = read_token(path)
    if found is not None and found.token == token:
        return found
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('djmap:grid_coverage'))")
        grid_coverage.refresh(conn, SERVER, MINUTES, MODE)
    built = Built(token, None, time.time())
    _write_token(path, built)
    return built


def grid_coverage_builders(pool: asyncpg.Pool, home: Path, url: str) -> list[Builder]:
    """The grid coverage's build (registered in api/services.py's derived_builders)."""
    return [GridCoverage(pool, home, url)]
