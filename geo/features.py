"""OGC API Features queries over the layer catalog: items and single features, scoped by caller.

Every query goes through `geo.scope.row_scope`. Rows a member sees only because the layer is public
come back with public fields only (the others are NULL-masked in SQL, so filters cannot probe them).
Identifiers come from the layer; values travel as parameters, composed by geo/compose.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from geo import compose, cql
from geo.compose import Fragment
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal, RowScope, row_scope
from layers import catalog, filters
from layers.base import Field, Layer

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
MAX_OFFSET = 2**53
COUNT_CAP = 100_000  # numberMatched is given when counting stops below this
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

FEATURE_SQL = """
SELECT json_build_object(
    'type', 'Feature',
    'id', t.{key},
    'geometry', ST_AsGeoJSON(t.{geom}, 7)::json,
    'properties', {props}
)::text
FROM {source}
WHERE {where}
"""
PAGE_SQL = "{features} ORDER BY t.{key} LIMIT {limit} OFFSET {offset}"
ONE_SQL = "{features} AND t.{key} = {fid}"
COUNT_SQL = "SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {cap}) AS c"
EXTENT_SQL = (
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
    " FROM (SELECT ST_Extent(t.{geom}) AS e FROM {source} WHERE {where}) AS x"
)
TIME_EXTENT_SQL = "SELECT min(t.{start}), max(t.{end}) FROM {source} WHERE {where}"
# Properties when some fields are masked on rows the caller sees only as public.
MASKED_PROPS = (
    "(jsonb_build_object({pairs}) - "
    "(CASE WHEN {own} THEN '{{}}'::text[] ELSE ARRAY[{names}]::text[] END))"
)


@dataclass(frozen=True)
class ItemsQuery:
    """The parsed query parameters of `/items`."""

    bbox: tuple[float, float, float, float] | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    filter: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of features: the GeoJSON text of each, and how many matched (None = not counted)."""

    features: list[str]
    matched: int | None


# Parameter parsing ---------------------------------------------------------------------------


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """bbox=minx,miny,maxx,maxy (or 6 numbers with heights) in CRS84; InvalidInput otherwise."""
    if text is None or text == "":
        return None
    try:
        nums = [float(p) for p in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bbox must be 4 or 6 comma-separated numbers, got {text!r}") from None
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise InvalidInput(f"bbox must be 4 or 6 comma-separated numbers, got {text!r}")
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("bbox is outside lon -180..180 / lat -90..90 or has miny > maxy")
    return minx, miny, maxx, maxy


def _instant(text: str, end: bool) -> datetime:
    try:
        if "T" not in text.upper() and len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) - timedelta(microseconds=1) if end else start
        value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"datetime {text!r} is not RFC 3339 (2026-05-01T09:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """datetime=instant, start/end, ../end or start/.. as a closed or open interval."""
    if text is None or text == "":
        return None
    if "/" not in text:
        if text == "..":
            raise InvalidInput("datetime '..' is only allowed as an end of an interval")
        return _instant(text, False), _instant(text, True)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidInput(f"datetime interval must be start/end, got {text!r}")
    start = None if parts[0] in ("", "..") else _instant(parts[0], False)
    end = None if parts[1] in ("", "..") else _instant(parts[1], True)
    if start and end and start > end:
        raise InvalidInput("datetime interval starts after it ends")
    return start, end


def parse_limit(limit: int | None, offset: int | None) -> tuple[int, int]:
    """Validated limit (1..10,000, default 100) and offset (≥ 0)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
    return limit, offset


# Collections and fields ------------------------------------------------------------------------


def collection(layer_id: str, principal: Principal) -> Layer:
    """The collection called `layer_id` if the caller may see it (NotFound otherwise)."""
    for layer in catalog.collections(principal.audience):
        if layer.id == layer_id:
            return layer
    raise NotFound(f"no collection {layer_id!r}")


def _public_rest(layer: Layer, scope: RowScope) -> bool:
    return scope.public_rest and catalog.can_see(layer, "public")


def _visible_rows(layer: Layer, scope: RowScope) -> Fragment:
    if scope.unrestricted:
        return compose.TRUE
    if _public_rest(layer, scope):
        # every row is visible; `own` stays in the text so its parameters are always bound
        return compose.sql("({own} OR TRUE)", own=scope.cond)
    return scope.cond


def _masked(layer: Layer, scope: RowScope, fld: Field, expr: Fragment) -> Fragment:
    """The field's SQL, NULL on rows the caller sees only as public when the field is not."""
    if scope.unrestricted or not _public_rest(layer, scope) or fld.audience == "public":
        return expr
    return compose.sql("(CASE WHEN {own} THEN {expr} END)", own=scope.cond, expr=expr)


def _filter_expr(layer: Layer, fld: Field) -> Fragment:
    if fld.type == "datetime":
        if fld.name in (layer.time_field, layer.time_end_field):
            return compose.raw(f"t.{fld.name}")
        return compose.sql("({e})::timestamptz", e=compose.raw(fld.expr))
    return compose.raw(fld.expr)


def queryables(layer: Layer, principal: Principal, scope: RowScope) -> dict[str, cql.Queryable]:
    """The properties a filter may name for this caller (and `geometry`)."""
    found = {
        f.name: cql.Queryable(f.name, _masked(layer, scope, f, _filter_expr(layer, f)), f.type)
        for f in catalog.scalar_fields(layer, principal.audience)
    }
    geom = compose.raw(f"t.{layer.geom_column}")
    found["geometry"] = cql.Queryable("geometry", geom, cql.GEOMETRY_TYPE)
    return found


def _properties(layer: Layer, principal: Principal, scope: RowScope) -> Fragment:
    """The properties object; fields masked on a row are left out of it, not sent as null."""
    fields = catalog.fields_for(layer, principal.audience)
    pairs = compose.join(
        ", ",
        (compose.sql("{n}, {e}", n=compose.literal(f.name), e=compose.raw(f.expr)) for f in fields),
    )
    masked = [f.name for f in fields if _masked(layer, scope, f, compose.TRUE) is not compose.TRUE]
    if not masked:
        return compose.sql("json_build_object({pairs})", pairs=pairs)
    names = compose.join(", ", (compose.literal(name) for name in masked))
    return compose.sql(MASKED_PROPS, pairs=pairs, own=scope.cond, names=names)


# WHERE ------------------------------------------------------------------------------------------


def _bbox_sql(layer: Layer, bbox: tuple[float, float, float, float]) -> Fragment:
    minx, miny, maxx, maxy = bbox
    geom = compose.raw(f"t.{layer.geom_column}")
    if minx <= maxx:
        return compose.sql("ST_Intersects({g}, {box})", g=geom, box=cql.envelope(*bbox))
    # across the antimeridian: two boxes
    return compose.sql(
        "(ST_Intersects({g}, {west}) OR ST_Intersects({g}, {east}))",
        g=geom,
        west=cql.envelope(minx, miny, 180.0, maxy),
        east=cql.envelope(-180.0, miny, maxx, maxy),
    )


def _time_sql(layer: Layer, interval: tuple[datetime | None, datetime | None]) -> Fragment:
    start_col = compose.raw(f"t.{layer.time_field}")
    end_col = compose.raw(f"t.{layer.time_end_field or layer.time_field}")
    start, end = interval
    parts = []
    if end is not None:
        parts.append(compose.sql("{c} <= {v}", c=start_col, v=cql.typed_value(end, "timestamptz")))
    if start is not None:
        parts.append(compose.sql("{c} >= {v}", c=end_col, v=cql.typed_value(start, "timestamptz")))
    return compose.join(" AND ", parts) if parts else compose.TRUE


def where(layer: Layer, principal: Principal, query: ItemsQuery) -> tuple[Fragment, RowScope]:
    """The WHERE condition of an items query (scope first), and the caller's row scope."""
    scope = row_scope(principal, layer)
    parts = [_visible_rows(layer, scope)]
    if query.bbox is not None:
        parts.append(_bbox_sql(layer, query.bbox))
    if query.interval is not None and layer.time_field:
        parts.append(_time_sql(layer, query.interval))
    if query.extra:
        bound = filters.parse(layer, query.extra, ignore=(), audience=principal.audience)
        own = scope.cond if _public_rest(layer, scope) else None
        parts.append(compose.sql("TRUE{f}", f=filters.where(bound, own)))
    if query.filter:
        try:
            parts.append(cql.to_sql(query.filter, queryables(layer, principal, scope)))
        except cql.CqlError as exc:
            raise InvalidInput(str(exc)) from None
    return compose.join(" AND ", (compose.sql("({p})", p=p) for p in parts)), scope


def _features(layer: Layer, principal: Principal, scope: RowScope, cond: Fragment) -> Fragment:
    return compose.sql(
        FEATURE_SQL,
        key=compose.raw(layer.key_column),
        geom=compose.raw(layer.geom_column),
        props=_properties(layer, principal, scope),
        source=compose.raw(layer.source),
        where=cond,
    )


# Queries ---------------------------------------------------------------------------------------


async def items(
    conn: asyncpg.Connection, layer: Layer, principal: Principal, query: ItemsQuery
) -> Page:
    """A page of the collection's features the caller may see, ordered by key."""
    cond, scope = where(layer, principal, query)
    stmt = compose.sql(
        PAGE_SQL,
        features=_features(layer, principal, scope, cond),
        key=compose.raw(layer.key_column),
        limit=cql.typed_value(query.limit, "bigint"),
        offset=cql.typed_value(query.offset, "bigint"),
    )
    try:
        rows = await conn.fetch(stmt.compile().text, *stmt.args())
        matched = await _count(conn, layer, cond)
    except (asyncpg.DataError, OverflowError) as exc:
        # a value PostgreSQL cannot take (e.g. a bad LIKE escape): the caller's input, not a fault
        raise InvalidInput(f"invalid value in the query: {exc}") from None
    return Page([r[0] for r in rows], matched)


async def _count(conn: asyncpg.Connection, layer: Layer, cond: Fragment) -> int | None:
    stmt = compose.sql(COUNT_SQL, source=compose.raw(layer.source), where=cond, cap=COUNT_CAP + 1)
    count = int(await conn.fetchval(stmt.compile().text, *stmt.args()))
    return None if count > COUNT_CAP else count


async def item(conn: asyncpg.Connection, layer: Layer, principal: Principal, fid: str) -> str:
    """One feature the caller may see, as GeoJSON text (NotFound otherwise, in or out of scope)."""
    try:
        key = int(fid)
    except ValueError:
        raise NotFound(f"no feature {fid!r} in {layer.id}") from None
    if not -(2**63) <= key < 2**63:
        raise NotFound(f"no feature {fid!r} in {layer.id}")
    cond, scope = where(layer, principal, ItemsQuery())
    stmt = compose.sql(
        ONE_SQL,
        features=_features(layer, principal, scope, cond),
        key=compose.raw(layer.key_column),
        fid=cql.typed_value(key, "bigint"),
    )
    text = await conn.fetchval(stmt.compile().text, *stmt.args())
    if text is None:
        raise NotFound(f"no feature {fid!r} in {layer.id}")
    return str(text)


async def extent(
    conn: asyncpg.Connection, layer: Layer, principal: Principal
) -> dict[str, Any] | None:
    """The spatial (and for activities temporal) extent of the rows the caller may see."""
    cond, _ = where(layer, principal, ItemsQuery())
    source = compose.raw(layer.source)
    stmt = compose.sql(EXTENT_SQL, geom=compose.raw(layer.geom_column), source=source, where=cond)
    row = await conn.fetchrow(stmt.compile().text, *stmt.args())
    if row is None or row[0] is None:
        return None
    result: dict[str, Any] = {"spatial": {"bbox": [[float(v) for v in row]], "crs": CRS84}}
    if layer.time_field:
        stmt = compose.sql(
            TIME_EXTENT_SQL,
            start=compose.raw(layer.time_field),
            end=compose.raw(layer.time_end_field or layer.time_field),
            source=source,
            where=cond,
        )
        start, end = await conn.fetchrow(stmt.compile().text, *stmt.args())
        iso = [v.isoformat() if v else None for v in (start, end)]
        result["temporal"] = {
            "interval": [iso],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return result


def queryables_schema(layer: Layer, principal: Principal, url: str) -> dict[str, Any]:
    """JSON Schema of the collection's queryables for this caller."""
    props: dict[str, Any] = {}
    types = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
    for f in catalog.scalar_fields(layer, principal.audience):
        entry: dict[str, Any] = {"title": f.title_en or f.name}
        if f.title_zh:
            entry["description"] = f.title_zh
        if f.type == "datetime":
            entry.update(type="string", format="date-time")
        else:
            entry["type"] = types.get(f.type, "string")
        props[f.name] = entry
    geom = layer.geom_type.lower()
    props["geometry"] = {"title": "geometry", "format": f"geometry-{geom}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": layer.title_en,
        "description": layer.title_zh,
        "properties": props,
        "additionalProperties": False,
    }
