"""Page figures as a derived build (tiles/builds.py): the published member counts and coverage %
behind `/web/orgs.json` and `/web/stats.json`, made per data version of members, organisations
and service points (and the pages' coverage radius) and served from the last build.

Counting every member's coverage takes seconds at a million members, so no page request does it:
the scheduler builds the figures after a write and pages read them from memory. The build is kept
in `<home>/builds/pagedata/figures-<database>.json`, so a restart serves the last figures at once and worker
processes share one build (a file lock lets one of them make it while the others wait and read).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import asyncpg

from tiles.builds import Builder, Built, DerivedBuilds
from tiles.versions import VersionMap, data_token, read_versions
from web.queries import ORG_MEMBERS_SQL, MemberFigures, figures_of

FIGURES = "pagedata:figures"
TABLES = ("members", "organisations", "service_points")  # what the figures are counted from
FORMAT = 1  # of the stored file; another format is built again


def database_key(url: str) -> str:
    """A short name of the database a URL points at (never its password): a home shared by
    several databases keeps one figures file per database, and never serves another's."""
    parts = urlsplit(url)
    where = f"{parts.username}@{parts.hostname}:{parts.port}{parts.path}?{parts.query}"
    return hashlib.blake2b(where.encode(), digest_size=8).hexdigest()


def figures_token(versions: VersionMap, radius_m: float) -> str:
    """The token of figures made from these versions at this coverage radius."""
    return data_token(f"{FIGURES}@{radius_m:g}/{FORMAT}", versions, TABLES)


def _keys(figures: dict[Hashable, Any]) -> list[list[Any]]:
    return [[*key, value] for key, value in figures.items()]  # type: ignore[misc]


def dump(built: Built) -> bytes:
    """The stored form of a figures build."""
    figures: MemberFigures = built.value
    doc = {
        "format": FORMAT,
        "token": built.token,
        "built_at": built.built_at,
        "members": _keys(dict(figures.members)),
        "coverage_pct": _keys(dict(figures.coverage_pct)),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def parse(data: bytes) -> Built | None:
    """A stored figures build (None when unreadable or of another format)."""
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            return None
        members = {(str(k), int(i)): int(n) for k, i, n in doc["members"]}
        pct = {(str(k), int(i)): float(p) for k, i, p in doc["coverage_pct"]}
        return Built(str(doc["token"]), MemberFigures(members, pct), doc.get("built_at"))  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class PageFigures:
    """The page figures' builder (see the module docstring)."""

    name, kind, auto, reload, lane = FIGURES, "pagedata", True, False, "db"

    def __init__(self, pool: asyncpg.Pool, home: Path, url: str, radius_m: float) -> None:
        self.pool, self.radius_m = pool, radius_m
        self.path = Path(home) / "builds" / "pagedata" / f"figures-{database_key(url)}.json"

    async def wanted(self, versions: VersionMap) -> str | None:
        """The token of the current data's figures."""
        return figures_token(versions, self.radius_m)

    async def load(self) -> Built | None:
        """The stored build, if any."""
        return await asyncio.to_thread(self._read)

    def _read(self) -> Built | None:
        try:
            return parse(self.path.read_bytes())
        except OSError:
            return None

    async def build(self) -> Built:
        """Count the figures of one snapshot (unless the stored build is of it) and store them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("wb") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                return await self._build_locked()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def _build_locked(self) -> Built:
        stored = await self.load()
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            token = figures_token(await read_versions(conn), self.radius_m)
            if stored is not None and stored.token == token:
                return stored
            rows = await conn.fetch(ORG_MEMBERS_SQL, self.radius_m)
        figures = await asyncio.to_thread(figures_of, rows, self.radius_m)
        built = Built(token, figures, time.time())
        await asyncio.to_thread(self._write, dump(built))
        return built

    def _write(self, data: bytes) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            _write_all(f, data)
        os.replace(tmp, self.path)


def _write_all(f: BinaryIO, data: bytes) -> None:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())


def page_builders(pool: asyncpg.Pool, home: Path, url: str, radius_m: float) -> list[Builder]:
    """The pages' derived builds."""
    return [PageFigures(pool, home, url, radius_m)]


async def served_figures(builds: DerivedBuilds | None) -> MemberFigures | None:
    """The figures to serve now (the last build; None when there is none: computed per request)."""
    if builds is None:
        return None
    built = await builds.get(FIGURES)
    return None if built is None else built.value  # type: ignore[no-any-return]
