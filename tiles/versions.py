"""Data versions of the layers, read fresh for every request but shared by concurrent requests.

A request never sees versions read before it arrived (single flight: requests that arrive while a
read is running wait for the next read), so a write committed before a tile request is always
seen by it, and under load one `data_versions` query serves many requests.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping

from layers.catalog import Layer

VERSIONS_SQL = (
    "SELECT table_name, version, (extract(epoch FROM updated_at) * 1e6)::bigint FROM data_versions"
)
# Bump when the tile rendering changes so no cache (memory, disk, CDN) serves old renderings.
RENDER_VERSION = "r1"

VersionMap = Mapping[str, tuple[int, int]]


def layer_token(layer: Layer, versions: VersionMap) -> str:
    """Short token naming the data a layer's tiles were made from (changes on every write)."""
    parts = [RENDER_VERSION, layer.id]
    for table in layer.version_tables:
        version, stamp = versions.get(table, (0, 0))
        parts.append(f"{table}:{version}:{stamp}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=6).hexdigest()


class VersionReader:
    """Linearizable, coalesced reads of `data_versions`."""

    def __init__(self, fetch: Callable[[], Awaitable[list[tuple[str, int, int]]]]) -> None:
        self._fetch = fetch
        self._next: asyncio.Future[dict[str, tuple[int, int]]] | None = None
        self._running = False

    async def current(self) -> dict[str, tuple[int, int]]:
        """Versions read by a query that started after this call."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._running = True
                asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                fut, self._next = self._next, None
                try:
                    rows = await self._fetch()
                except Exception as exc:  # handed to every waiter
                    fut.set_exception(exc)
                else:
                    fut.set_result({str(n): (int(v), int(s)) for n, v, s in rows})
        finally:
            self._running = False
