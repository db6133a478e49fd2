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

from geo import compose
from geo.compose import Compiled, Fragment
from geo.errors import InvalidInput
from geo.scope import RowScope, masked
from layers import filters as lf
from layers.base import Layer, scalar_fields
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
UNSCOPED = RowScope(compose.TRUE)
_SLOTS = {k: compose.param(k) for k in (*sql.TILE_KEYS, *sql.POINT_KEYS)}


@dataclass(frozen=True)
class TileRequest:
    """One tile of one layer as an audience asked for it."""

    layer: Layer
    z: int
    x: int
    y: int
    filters: tuple[lf.Bound, ...] = ()
    audience: str = "public"
    scope: RowScope = UNSCOPED  # geo.scope.row_scope: its parameter travels with its condition


def scope_where(scope: RowScope) -> Fragment:
    """`AND …` limiting tile rows to the scope (public-rest rows stay, their fields masked)."""
    if scope.unrestricted:
        return compose.EMPTY
    if scope.public_rest:  # keeps the scope's parameter referenced
        return compose.sql(" AND ({own} OR TRUE)", own=scope.cond)
    return compose.sql(" AND {own}", own=scope.cond)


def check_tile(z: int, x: int, y: int) -> None:
    """Raise InvalidInput unless z/x/y is a tile of the WebMercatorQuad grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"tile {z}/{x}/{y} is outside the grid (x and y in 0..{n - 1})")


def _field_cols(layer: Layer, audience: str, scope: RowScope) -> tuple[Fragment, Fragment]:
    """`, <expr> AS "<name>"` of each field the audience reads, and `, r."<name>"` of each."""
    cols, props = compose.EMPTY, compose.EMPTY
    for f in scalar_fields(layer, audience):
        expr = masked(scope, compose.raw(f.expr), f.audience == "public")
        cols = cols + compose.sql(", {expr} AS {name}", expr=expr, name=compose.ident(f.name))
        props = props + compose.sql(", r.{name}", name=compose.ident(f.name))
    return cols, props


def _breakdown(layer: Layer) -> Fragment:
    column = layer.aggregation.breakdown
    return compose.raw(f"t.{column}::text" if column else "NULL::text")


def _common(layer: Layer) -> dict[str, compose.Piece]:
    return {
        "source": compose.raw(layer.source),
        "geom": compose.raw(layer.geom_column),
        "layer": compose.literal(layer.id),
        **_SLOTS,
    }


def _point_parts(layer: Layer, cols: Fragment, props: Fragment, where: Fragment) -> tuple:
    """(rows, features, cluster rows) of a point layer."""
    names = _common(layer)
    key = compose.raw(f"t.{layer.key_column} AS __fid, t.{layer.geom_column} AS __pt, ")
    row_cols = key + _breakdown(layer) + compose.raw(" AS __k") + cols
    rows = compose.sql(sql.template("point_rows"), cols=row_cols, filters=where, **names)
    features = compose.sql(
        sql.template("features_mvt"),
        geom_expr=compose.raw("ST_Transform(r.__pt, 3857)"),
        buffer=0,
        props=props,
        rows=rows,
        **names,
    )
    return rows, features, rows


def _shape_parts(layer: Layer, cols: Fragment, props: Fragment, where: Fragment) -> tuple:
    """(rows, features, cluster rows) of a line or polygon layer."""
    names = _common(layer)
    key = compose.raw(f"t.{layer.key_column} AS __fid, t.{layer.geom_column} AS __shape")
    rows = compose.sql(
        sql.template("shape_rows"),
        cols=key + cols,
        filters=where,
        buffer_ratio=BUFFER / 4096,
        **names,
    )
    tolerance = compose.sql(
        "(({east} - {west}) / 4096.0 * 111319.49 * {px})",
        px=layer.aggregation.simplify_px,
        **names,
    )
    geom_expr = compose.sql(
        "ST_Simplify(ST_Transform(r.__shape, 3857), {tolerance}, true)", tolerance=tolerance
    )
    features = compose.sql(
        sql.template("features_mvt"),
        geom_expr=geom_expr,
        buffer=BUFFER,
        props=props,
        rows=rows,
        **names,
    )
    rep_cols = compose.raw("t.__rep AS __pt, ") + _breakdown(layer) + compose.raw(" AS __k")
    cluster_rows = compose.sql(sql.template("rep_rows"), cols=rep_cols, filters=where, **names)
    return rows, features, cluster_rows


@lru_cache(maxsize=512)
def statement(
    layer: Layer,
    audience: str,
    filter_names: tuple[str, ...],
    scope_shape: tuple[str | compose.Param, ...] = ("TRUE",),
    public_rest: bool = False,
) -> Compiled:
    """The guarded tile statement of a layer for an audience, a set of filters and a row scope
    shape, compiled once: `$1..$8` the common parameters, then the filters', then the scope's."""
    flts = tuple(layer.filter(n) for n in filter_names)
    bound = tuple(lf.bind(layer, f, None, "") for f in flts if f is not None)
    scope = RowScope(Fragment(scope_shape), public_rest)
    own = scope.cond if public_rest else None
    where = lf.where(bound, own, bind=False) + scope_where(scope)
    cols, props = _field_cols(layer, audience, scope)
    parts = _point_parts if layer.geom_type in POINT_TYPES else _shape_parts
    rows, features, cluster_rows = parts(layer, cols, props, where)
    clusters = compose.sql(
        sql.template("cluster_mvt"),
        rows=cluster_rows,
        cells=layer.aggregation.cells,
        breakdown=compose.literal(f"{layer.aggregation.breakdown or 'kind'}:"),
        **_common(layer),
    )
    guarded = compose.sql(
        sql.template("guarded_mvt"),
        count_rows=rows,
        features=features,
        clusters=clusters,
        **_common(layer),
    )
    order = (*sql.TILE_KEYS, *(lf.key(b.filter) for b in bound))
    return guarded.compile(order=order)


@lru_cache(maxsize=64)
def points_compiled(layer: Layer, audience: str) -> Compiled:
    """Unfiltered, unscoped features of a point layer with no guard (count known, scope open)."""
    cols, _ = _field_cols(layer, audience, UNSCOPED)
    stmt = compose.sql(
        sql.template("points_mvt"),
        key=compose.raw(layer.key_column),
        cols=cols,
        **_common(layer),
    )
    return stmt.compile(order=sql.POINT_KEYS)


def points_statement(layer: Layer | str, audience: str) -> str:
    """The text of `points_compiled` (its parameters: `points_args`)."""
    if isinstance(layer, str):  # callers that still pass an id
        from layers import registry

        layer = registry.get(layer)
    return points_compiled(layer, audience).text


def tile_bounds(z: int, x: int, y: int) -> tuple[morecantile.BoundingBox, morecantile.BoundingBox]:
    """The tile's bounds in degrees (as `TMS.bounds` gives them) and in Mercator metres."""
    m = TMS.xy_bounds(morecantile.Tile(x, y, z))
    west, south = _TO_GEOGRAPHIC.transform(m.left, m.bottom)
    east, north = _TO_GEOGRAPHIC.transform(m.right, m.top)
    return morecantile.BoundingBox(west, south, east, north), m


def points_args(req: TileRequest) -> list[object]:
    """Parameters of `points_statement` (sql.POINT_KEYS): bounds in degrees, then Mercator bottom
    and top."""
    b, m = tile_bounds(req.z, req.x, req.y)
    return [b.left, b.bottom, b.right, b.top, m.bottom, m.top]


def tile_args(req: TileRequest, budget: int) -> list[object]:
    """Parameters of the tile statement (sql.TILE_KEYS, the filters', then the row scope's)."""
    bounds, _ = tile_bounds(req.z, req.x, req.y)
    return [
        req.z,
        req.x,
        req.y,
        bounds.left,
        bounds.bottom,
        bounds.right,
        bounds.top,
        budget,
        *[b.value for b in req.filters],
        *[v for _, v in req.scope.cond.bound],  # the scope's one parameter, if any
    ]


def feature_budget(req: TileRequest) -> int:
    """Features allowed before a tile is clustered (-1: always clustered at this zoom)."""
    agg = req.layer.aggregation
    if agg.method == "cluster" and req.z < agg.cluster_below:
        return -1
    if agg.method == "none":
        return 2**62
    return agg.max_features


_TEXTS: dict[tuple[object, ...], str] = {}  # request shape → statement text (the hot path)


def request_statement(req: TileRequest) -> str:
    """The guarded statement of a request (its layer, audience, filters and row scope shape)."""
    names = tuple(b.filter.name for b in req.filters) if req.filters else ()
    scope = req.scope
    key = (req.layer.id, req.audience, names, scope.cond.parts, scope.public_rest)
    text = _TEXTS.get(key)
    if text is None:
        if len(_TEXTS) >= 1024:
            _TEXTS.clear()
        text = statement(req.layer, req.audience, names, scope.cond.parts, scope.public_rest).text
        _TEXTS[key] = text
    return text


async def render(conn: asyncpg.Connection, req: TileRequest) -> bytes:
    """The tile's MVT bytes (empty bytes for an empty tile)."""
    stmt = request_statement(req)
    budget = feature_budget(req)
    body: bytes | None = await conn.fetchval(stmt, *tile_args(req, budget))
    max_bytes = req.layer.aggregation.max_bytes
    if body and len(body) > max_bytes and budget >= 0 and req.layer.aggregation.method == "cluster":
        body = await conn.fetchval(stmt, *tile_args(req, -1))
    return bytes(body or b"")
