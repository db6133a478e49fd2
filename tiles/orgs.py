"""Organisations named by tile filters (`?org=`): one that does not exist is a 404, never a rendered
and cached empty tile (every made-up id would otherwise add a file to the disk cache).

Ids found are remembered for the organisations data they were checked against, so a cached tile
costs no query, and while the database is away the ids known for the last versions still answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from geo.errors import NotFound
from layers import filters as lf

EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1)"


class OrgIds:
    """Existing organisation ids, checked once per organisations data version."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._version: tuple[int, int] | None = None
        self._known: set[int] = set()  # at most every organisation's id

    async def check(
        self, bound: tuple[lf.Bound, ...], versions: Mapping[str, tuple[int, int]]
    ) -> None:
        """NotFound when an organisation filter names an organisation that does not exist."""
        ids = [int(str(b.value)) for b in bound if b.filter.org]  # filters naming an organisation
        if not ids:
            return
        version = versions.get("organisations", (0, 0))
        if version != self._version:
            self._version, self._known = version, set()
        for org in ids:
            if org in self._known:
                continue
            if not await self.pool.fetchval(EXISTS_SQL, org):
                raise NotFound(f"organisation {org} does not exist")
            if self._version == version:
                self._known.add(org)
