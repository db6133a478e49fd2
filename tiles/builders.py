"""The tiles' derived builds (tiles/builds.py): cluster tables and heat cells in the database,
the 3D Tiles of the buildings and the terrain on disk under the djmap home.

Cluster tables and heat cells are rebuilt whenever their layer's data moves on. The 3D tileset
is kept fresh once it exists; its first build, like every terrain build (it needs a DEM), comes
from the CLI (`djmap tiles 3d build`, `djmap tiles terrain build`, `djmap demo`).
"""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg

from geo.errors import InvalidInput
from layers.catalog import Layer
from tiles import aggregate, heat, terrain, threed
from tiles.builds import Builder, Built
from tiles.versions import VersionMap, VersionTracker, layer_token, table_versions

HEAT_STATE_SQL = "SELECT token, extract(epoch FROM built_at) FROM heat_state WHERE layer = $1"


def clusters_name(layer: Layer) -> str:
    """The registry name of a layer's cluster tables."""
    return f"clusters:{layer.id}"


def heat_name(layer: Layer) -> str:
    """The registry name of a heat layer's published cells."""
    return f"heat:{layer.id}"


THREED = "3dtiles"
TERRAIN = "terrain"


class ClusterTables:
    """A cluster layer's precomputed clusters and tile counts (tiles/aggregate.py); the value
    is the tile counts {(z, x, y): n} the renderer plans with."""

    kind, auto, reload, lane = "clusters", True, False, "db"

    def __init__(self, layer: Layer, pool: asyncpg.Pool) -> None:
        self.layer, self.pool, self.name = layer, pool, clusters_name(layer)

    async def wanted(self, versions: VersionMap) -> str | None:
        """The layer's data token."""
        return layer_token(self.layer, versions)

    async def load(self) -> Built | None:
        """The build in the tables (of this format), with its tile counts."""
        async with self.pool.acquire() as conn:
            token = await aggregate.built_token(conn, self.layer)
        if token is None:
            return None
        return Built(token, await aggregate.tile_counts(self.pool, self.layer, token))

    async def build(self) -> Built:
        """Rebuild from one snapshot (returns at once when the tables already match it)."""
        token = await aggregate.build(self.pool, self.layer)
        counts = await aggregate.tile_counts(self.pool, self.layer, token)
        return Built(token, counts, time.time())


class HeatCells:
    """A heat layer's published cells (tiles/heat.py); the token names the cells to read."""

    kind, auto, reload, lane = "heat", True, False, "db"

    def __init__(self, layer: Layer, pool: asyncpg.Pool, versions: VersionTracker) -> None:
        self.layer, self.pool, self.versions = layer, pool, versions
        self.name = heat_name(layer)

    async def wanted(self, versions: VersionMap) -> str | None:
        """The layer's data token."""
        return layer_token(self.layer, versions)

    async def load(self) -> Built | None:
        """The cells in the table, if any were built."""
        row = await self.pool.fetchrow(HEAT_STATE_SQL, self.layer.id)
        return None if row is None else Built(str(row[0]), None, float(row[1]))

    async def build(self) -> Built:
        """Publish the cells of the current data (returns at once when they match it)."""
        token = layer_token(self.layer, await self.versions.current())
        return Built(await heat.ensure_built(self.pool, self.layer, token), None, time.time())


def _threed_token(versions: dict[str, int], ground: str | None) -> str:
    parts = [f"{t}:{versions.get(t, 0)}" for t in threed.VERSIONED]
    return "-".join([*parts, f"ground:{ground or 'flat'}"])


class Tiles3D:
    """The buildings tileset (tiles/threed), rebuilt in a subprocess; the value is its manifest."""

    name, kind, auto, reload, lane = THREED, "3dtiles", True, True, "process"

    def __init__(self, home: Path, url: str) -> None:
        self.home, self.url = home, url

    async def wanted(self, versions: VersionMap) -> str | None:
        """The data and terrain the tileset should be made from (None before a first build)."""
        manifest = await asyncio.to_thread(threed.current_manifest, self.home)
        if manifest is None:
            return None  # the first build comes from the CLI
        ground = await asyncio.to_thread(threed.ground_id, self.home)
        return _threed_token(table_versions(versions, threed.VERSIONED), ground)

    async def load(self) -> Built | None:
        """The live build named by current.json."""
        manifest = await asyncio.to_thread(threed.current_manifest, self.home)
        return None if manifest is None else _manifest_built(manifest)

    async def build(self) -> Built:
        """Rebuild when stale (in its format, b3dm for a first build) and return the live build."""
        manifest = await asyncio.to_thread(threed.current_manifest, self.home)
        fmt = str(manifest["format"]) if manifest else "b3dm"
        await threed.rebuild(self.home, self.url, fmt)
        built = await self.load()
        if built is None:
            raise threed.RebuildFailed("the 3D Tiles rebuild left no live build")
        return built


def _manifest_built(manifest: dict[str, Any]) -> Built:
    versions = {str(k): int(v) for k, v in dict(manifest.get("versions") or {}).items()}
    token = _threed_token(versions, manifest.get("ground"))
    try:
        stamp: float | None = calendar.timegm(
            time.strptime(str(manifest.get("built_at")), "%Y-%m-%dT%H:%M:%SZ")
        )
    except ValueError:
        stamp = None
    return Built(token, manifest, stamp)


class Terrain:
    """The terrain-RGB tiles (tiles/terrain.py); built only from a DEM by the CLI."""

    name, kind, auto, reload, lane = TERRAIN, "terrain", False, True, "process"

    def __init__(self, home: Path) -> None:
        self.home = home

    async def wanted(self, versions: VersionMap) -> str | None:
        """None: terrain comes from a DEM file, not from the database."""
        return None

    async def load(self) -> Built | None:
        """The live terrain build; its token is the build id."""
        meta = await asyncio.to_thread(terrain.current_build, self.home)
        return None if meta is None else Built(str(meta["build_id"]), meta, None)

    async def build(self) -> Built:
        """Terrain needs a DEM: only `djmap tiles terrain build --dem PATH` builds it."""
        raise InvalidInput("terrain is built from a DEM: djmap tiles terrain build --dem PATH")


def layer_builders(
    layers: Iterable[Layer], pool: asyncpg.Pool, versions: VersionTracker
) -> list[Builder]:
    """Each cluster layer's tables and each heat layer's cells."""
    found: list[Builder] = []
    for layer in layers:
        if layer.is_heat:
            found.append(HeatCells(layer, pool, versions))
        elif layer.aggregation.method == "cluster":
            found.append(ClusterTables(layer, pool))
    return found


def tile_builders(
    layers: Iterable[Layer], pool: asyncpg.Pool, versions: VersionTracker, home: Path, url: str
) -> list[Builder]:
    """The tiles' builders: the layers', 3D Tiles and terrain."""
    return [*layer_builders(layers, pool, versions), Tiles3D(home, url), Terrain(home)]
