"""The path of one tile request: the layer and the caller's audience and scope, the data version
(tiles/versions.py), the cache (tiles/cache.py), the renderer (tiles/renderer.py) and, for heat,
the published build (tiles/builds.py). It owns none of them: the app's lifespan (api/services.py)
or the CLI makes and closes them. No FastAPI here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from geo.errors import Forbidden, InvalidInput, NotFound, Unavailable
from geo.scope import Principal, RowScope, row_scope
from layers import catalog
from layers import filters as lf
from layers.catalog import Layer
from tiles import heat
from tiles.builders import heat_name
from tiles.builds import DerivedBuilds
from tiles.cache import CacheKey, Tile, TileCache, make_tile
from tiles.mvt import UNSCOPED, TileRequest, check_tile
from tiles.orgs import OrgIds
from tiles.renderer import TileRenderer
from tiles.versions import VersionMap, VersionTracker, layer_token


@dataclass(frozen=True)
class Served:
    """A tile and the data-version token it was made from."""

    tile: Tile
    token: str


class TileService:
    """Serves the catalog's tiles: checks, versions, cache, rendering (see the module docstring)."""

    def __init__(
        self,
        versions: VersionTracker,
        renderer: TileRenderer,
        builds: DerivedBuilds | None = None,
        cache: TileCache | None = None,
    ) -> None:
        self.versions = versions
        self.renderer = renderer
        self.builds = builds
        self.cache = cache
        self.pool = renderer.pool
        self.bounds: dict[tuple[str, str], tuple[float, ...]] = {}  # tiles/tilejson.py's
        self._orgs = OrgIds(self.pool)
        self._tokens: dict[str, tuple[VersionMap, str]] = {}  # layer → (versions, its token)

    async def current_versions(self) -> VersionMap:
        """The data versions to serve with now (tiles/versions.py)."""
        return await self.versions.current()

    async def check_orgs(self, bound: tuple[lf.Bound, ...]) -> None:
        """NotFound when a filter names an organisation that does not exist."""
        await self._orgs.check(bound, await self.current_versions())

    async def heat_token(self, layer: Layer) -> str:
        """The token of the heat cells served now: the last build, of this data version or an
        older one while the next is built; 503 before the first build (a GET never builds)."""
        built = await self.builds.get(heat_name(layer)) if self.builds is not None else None
        if built is None:
            raise Unavailable(
                f"the {layer.id} heat cells are not built yet (the scheduler builds them; "
                "`djmap tiles build` builds them now)"
            )
        return built.token

    async def served_token(self, layer: Layer, versions: VersionMap) -> str:
        """The token a layer's tiles are served under: its data's, or its heat build's."""
        if layer.is_heat:
            return await self.heat_token(layer)
        memo = self._tokens.get(layer.id)
        if memo is not None and memo[0] is versions:  # the same read: no hashing per request
            return memo[1]
        token = layer_token(layer, versions)
        self._tokens[layer.id] = (versions, token)
        return token

    async def tokens(self, layers: tuple[Layer, ...]) -> dict[str, str]:
        """The served token of each layer (a heat layer not built yet: its data's)."""
        versions = await self.current_versions()
        tokens = {}
        for layer in layers:
            try:
                tokens[layer.id] = await self.served_token(layer, versions)
            except Unavailable:
                tokens[layer.id] = layer_token(layer, versions)
        return tokens

    async def token(self, layer: Layer) -> str:
        """The served token of one layer."""
        return await self.served_token(layer, await self.current_versions())

    async def tile(
        self,
        layer_id: str,
        z: int,
        x: int,
        y: int,
        params: dict[str, str],
        audience: str,
        principal: Principal | None = None,
    ) -> Served:
        """The tile of a layer for an audience, scoped to `principal` when given (geo.scope).

        NotFound, Forbidden or InvalidInput on bad input (a zoom outside the layer's range, an
        organisation that does not exist): never rendered, never cached."""
        layer = catalog.get(layer_id)
        if not catalog.can_see(layer, audience):
            raise Forbidden(f"layer {layer_id!r} is not available to the {audience} audience")
        check_tile(z, x, y)
        check_zoom(layer, z)
        bound = lf.parse(layer, params, audience=audience)
        versions = await self.current_versions()
        await self._orgs.check(bound, versions)
        token = await self.served_token(layer, versions)
        scope = tile_scope(layer, principal)
        key = CacheKey(
            layer.id, token, scope_variant(audience, scope), lf.cache_key(bound), z, x, y
        )
        if self.cache is not None:
            hit = self.cache.get_memory(key) or await self.cache.get(key)
            if hit is not None:
                return Served(hit, token)
        raw = await self.renderer.render(TileRequest(layer, z, x, y, bound, audience, scope), token)
        tile = make_tile(raw)
        if self.cache is not None:
            await self.cache.put(key, tile)
        return Served(tile, token)

    def cached(self, layer_id: str, z: int, x: int, y: int) -> Served | None:
        """The public tile of a layer from memory, without waiting: None unless the layer is
        public and not heat, z/x/y is in its range, the versions' lease holds and the tile of
        those versions is in the memory cache (then `tile` answers, with every check)."""
        try:
            layer = catalog.get(layer_id)
        except NotFound:
            return None  # `tile` answers it
        if self.cache is None or layer.is_heat:
            return None
        if not catalog.can_see(layer, "public") or not layer.minzoom <= z <= layer.maxzoom:
            return None
        if not (0 <= x < 1 << z and 0 <= y < 1 << z):
            return None
        versions = self.versions.peek()
        if versions is None:
            return None
        memo = self._tokens.get(layer.id)
        token = (
            memo[1] if memo is not None and memo[0] is versions else layer_token(layer, versions)
        )
        hit = self.cache.get_memory(CacheKey(layer.id, token, "public", "", z, x, y))
        return None if hit is None else Served(hit, token)

    async def heat_cells(self, layer: Layer, res: int) -> tuple[str, list[dict[str, Any]]]:
        """The served heat build's token and its published items at resolution `res` (cell,
        res, count, merged, geometry as GeoJSON text)."""
        token = await self.heat_token(layer)
        rows = await self.pool.fetch(heat.CELLS_SQL, layer.id, token, res)
        return token, [dict(r) for r in rows]


def check_zoom(layer: Layer, z: int) -> None:
    """InvalidInput unless `z` is in the layer's zoom range (its TileJSON's minzoom..maxzoom)."""
    if not layer.minzoom <= z <= layer.maxzoom:
        raise InvalidInput(
            f"layer {layer.id!r} has tiles at zooms {layer.minzoom}..{layer.maxzoom}, not {z} "
            "(clients overzoom the last level)"
        )


def tile_scope(layer: Layer, principal: Principal | None) -> RowScope:
    """The caller's row scope of a layer's tiles (geo.scope, the same rule as OGC features).

    Heat layers are not scoped: their published cells are district-wide counts that obey the ≥10
    rule (tiles/heat.py), and carry no row or field of any organisation."""
    if principal is None or layer.is_heat:
        return UNSCOPED
    scope = row_scope(principal, layer, alias="t")
    if scope.public_rest and not catalog.can_see(layer, "public"):
        return replace(scope, public_rest=False)  # no public rest on a non-public layer
    return scope


def scope_variant(audience: str, scope: RowScope) -> str:
    """The cache variant of an audience and scope: callers share tiles only within one scope."""
    if scope.unrestricted:
        return audience
    rest = "rest" if scope.public_rest else "own"
    return f"{audience}|{scope.own}|{','.join(map(str, scope.params))}|{rest}"
