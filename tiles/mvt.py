"""Mapbox Vector Tiles of the catalog's layers, rendered by PostGIS in one statement per tile.

Completeness: a tile never drops features silently. A tile holding more than the layer's feature
budget (or whose features would pass its byte budget), and every tile below the layer's
`cluster_below` zoom, is drawn as clusters on a grid in tile pixel space; each cluster carries
`count`, `cluster=true`, `cell` and one `<breakdown>:<value>` count per kind, so the counts of a
tile's features add up to the source features whose (representative) point lies in the tile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import asyncpg
import morecantile
import pyproj

from geo.errors import InvalidInput
from geo.scope import RowScope, masked
from layers import catalog
from layers import filters as lf
from layers.catalog import Layer, fields_for
from tiles import sql

TMS = morecantile.tms.get("WebMercatorQuad")
# morecantile's `bounds` looks its Mercator → WGS84 transformer up in a cache keyed by the two CRSs,
# and hashing a pyproj CRS renders its WKT (~80 µs a tile); this is that transformer, made once.
_TO_GEOGRAPHIC = pyproj.Transformer.from_crs(
    TMS.crs._pyproj_crs, TMS.geographic_crs, always_xy=True
)
MAX_ZOOM = 24
BUFFER = 64  # tile units of buffer around line and polygon tiles (4096 units per tile)
POINT_TYPES = ("Point", "MultiPoint")
# Every row at the request's audience (admin, public, and layers that hang on no organisation).
UNSCOPED = RowScope("TRUE", (), False)


@dataclass(frozen=True)
class TileRequest:
    """One tile of one layer as an audience asked for it."""

    layer: Layer
    z: int
    x: int
    y: int
    filters: tuple[lf.Bound, ...] = ()
    audience: str = "public"
    scope: RowScope = UNSCOPED  # from geo.scope.row_scope, its $N after the filters' (scope_start)


def scope_start(n_filters: int) -> int:
    """The first $N of a tile's row scope: after the common parameters and the filters'."""
    return sql.FIRST_FILTER_PARAM + n_filters


def scope_where(scope: RowScope) -> str:
    """`AND …` limiting tile rows to the scope (public-rest rows stay, their fields masked)."""
    if scope.unrestricted:
        return ""
    if scope.public_rest:
        return f" AND ({scope.own} OR TRUE)"  # keeps the scope's parameters referenced
    return f" AND {scope.own}"


def check_tile(z: int, x: int, y: int) -> None:
    """Raise InvalidInput unless z/x/y is a tile of the WebMercatorQuad grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"tile {z}/{x}/{y} is outside the grid (x and y in 0..{n - 1})")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _field_cols(req: TileRequest) -> tuple[str, str]:
    fields = fields_for(req.layer, req.audience)
    cols = "".join(
        f", {masked(req.scope, f.expr, f.audience == 'public')} AS {_ident(f.name)}" for f in fields
    )
    props = "".join(f", r.{_ident(f.name)}" for f in fields)
    return cols, props


def _breakdown(layer: Layer) -> str:
    column = layer.aggregation.breakdown
    return f"t.{column}::text" if column else "NULL::text"


@lru_cache(maxsize=512)
def statement(
    layer_id: str,
    audience: str,
    filter_names: tuple[str, ...],
    scope_own: str = "TRUE",
    public_rest: bool = False,
) -> str:
    """The guarded tile statement of a layer for an audience, a set of filters and a row scope."""
    layer = catalog.get(layer_id)
    flts = tuple(layer.filter(n) for n in filter_names)
    bound = tuple(lf.bind(layer, f, None, "") for f in flts if f is not None)
    where, _ = lf.where(bound, sql.FIRST_FILTER_PARAM, scope_own if public_rest else None)
    scope = RowScope(scope_own, (), public_rest)
    where += scope_where(scope)
    req = TileRequest(layer, 0, 0, 0, bound, audience, scope)
    cols, props = _field_cols(req)
    geom, source = layer.geom_column, layer.source
    key = f"t.{layer.key_column} AS __fid"
    is_point = layer.geom_type in POINT_TYPES
    if is_point:
        rows = sql.POINT_ROWS.format(
            cols=f"{key}, t.{geom} AS __pt, {_breakdown(layer)} AS __k{cols}",
            source=source,
            geom=geom,
            filters=where,
        )
        features = sql.FEATURES_MVT.format(
            layer=layer.id,
            geom_expr="ST_Transform(r.__pt, 3857)",
            buffer=0,
            props=props,
            rows=rows,
        )
        cluster_rows = rows
    else:
        rows = sql.SHAPE_ROWS.format(
            cols=f"{key}, t.{geom} AS __shape{cols}",
            source=source,
            geom=geom,
            filters=where,
            buffer_ratio=BUFFER / 4096,
        )
        tolerance = f"(($6 - $4) / 4096.0 * 111319.49 * {layer.aggregation.simplify_px})"
        features = sql.FEATURES_MVT.format(
            layer=layer.id,
            geom_expr=f"ST_Simplify(ST_Transform(r.__shape, 3857), {tolerance}, true)",
            buffer=BUFFER,
            props=props,
            rows=rows,
        )
        cluster_rows = sql.REP_ROWS.format(
            cols=f"t.__rep AS __pt, {_breakdown(layer)} AS __k",
            source=source,
            geom=geom,
            filters=where,
        )
    clusters = sql.CLUSTER_MVT.format(
        rows=cluster_rows,
        cells=layer.aggregation.cells,
        breakdown=layer.aggregation.breakdown or "kind",
        layer=layer.id,
    )
    return sql.GUARDED_MVT.format(count_rows=rows, features=features, clusters=clusters)


@lru_cache(maxsize=64)
def points_statement(layer_id: str, audience: str) -> str:
    """Unfiltered, unscoped features of a point layer with no guard (count known, scope open)."""
    layer = catalog.get(layer_id)
    cols, _ = _field_cols(TileRequest(layer, 0, 0, 0, (), audience))
    return sql.POINTS_MVT.format(
        layer=layer.id, key=layer.key_column, geom=layer.geom_column, cols=cols, source=layer.source
    )


def tile_bounds(z: int, x: int, y: int) -> tuple[morecantile.BoundingBox, morecantile.BoundingBox]:
    """The tile's bounds in degrees (as `TMS.bounds` gives them) and in Mercator metres."""
    m = TMS.xy_bounds(morecantile.Tile(x, y, z))
    west, south = _TO_GEOGRAPHIC.transform(m.left, m.bottom)
    east, north = _TO_GEOGRAPHIC.transform(m.right, m.top)
    return morecantile.BoundingBox(west, south, east, north), m


def points_args(req: TileRequest) -> list[object]:
    """Parameters of `points_statement`: bounds in degrees, then Mercator bottom and top."""
    b, m = tile_bounds(req.z, req.x, req.y)
    return [b.left, b.bottom, b.right, b.top, m.bottom, m.top]


def tile_args(req: TileRequest, budget: int) -> list[object]:
    """Parameters of the tile statement ($1..$8, the filters', then the row scope's)."""
    bounds, _ = tile_bounds(req.z, req.x, req.y)
    _, values = lf.where(req.filters, sql.FIRST_FILTER_PARAM)
    return [
        req.z,
        req.x,
        req.y,
        bounds.left,
        bounds.bottom,
        bounds.right,
        bounds.top,
        budget,
        *values,
        *req.scope.params,
    ]


def feature_budget(req: TileRequest) -> int:
    """Features allowed before a tile is clustered (-1: always clustered at this zoom)."""
    agg = req.layer.aggregation
    if agg.method == "cluster" and req.z < agg.cluster_below:
        return -1
    if agg.method == "none":
        return 2**62
    return agg.max_features


def request_statement(req: TileRequest) -> str:
    """The guarded statement of a request (its layer, audience, filters and row scope)."""
    names = tuple(b.filter.name for b in req.filters)
    return statement(req.layer.id, req.audience, names, req.scope.own, req.scope.public_rest)


async def render(conn: asyncpg.Connection, req: TileRequest) -> bytes:
    """The tile's MVT bytes (empty bytes for an empty tile)."""
    stmt = request_statement(req)
    budget = feature_budget(req)
    body: bytes | None = await conn.fetchval(stmt, *tile_args(req, budget))
    max_bytes = req.layer.aggregation.max_bytes
    if body and len(body) > max_bytes and budget >= 0 and req.layer.aggregation.method == "cluster":
        body = await conn.fetchval(stmt, *tile_args(req, -1))
    return bytes(body or b"")
