"""OGC API Features queries over the layer catalog: items and single features, scoped by caller.

Every query goes through `geo.scope.row_scope`. Rows a member sees only because the layer is public
come back with public fields only (the others are NULL-masked in SQL, so filters cannot probe them).
Identifiers come from the catalog; values travel as `$N` parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from geo import cql
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal, RowScope, row_scope
from layers import catalog, filters
from layers.catalog import Field, Layer

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
COUNT_SQL = "SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {cap}) AS c"
EXTENT_SQL = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(t.{geom}) AS e FROM {source} WHERE {where}) AS x"
TIME_EXTENT_SQL = "SELECT min(t.{start}), max(t.{end}) FROM {source} WHERE {where}"


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


def _visible_rows(layer: Layer, scope: RowScope) -> str:
    if scope.unrestricted:
        return "TRUE"
    if _public_rest(layer, scope):
        # every row is visible; `own` stays in the text so its parameters are always bound
        return f"({scope.own} OR TRUE)"
    return scope.own


def _masked(layer: Layer, scope: RowScope, fld: Field, expr: str) -> str:
    """The field's SQL, NULL on rows the caller sees only as public when the field is not."""
    if scope.unrestricted or not _public_rest(layer, scope) or fld.audience == "public":
        return expr
    return f"(CASE WHEN {scope.own} THEN {expr} END)"


def _filter_expr(layer: Layer, fld: Field) -> str:
    if fld.type == "datetime":
        if fld.name in (layer.time_field, layer.time_end_field):
            return f"t.{fld.name}"
        return f"({fld.expr})::timestamptz"
    return fld.expr


def queryables(layer: Layer, principal: Principal, scope: RowScope) -> dict[str, cql.Queryable]:
    """The properties a filter may name for this caller (and `geometry`)."""
    found = {
        f.name: cql.Queryable(f.name, _masked(layer, scope, f, _filter_expr(layer, f)), f.type)
        for f in catalog.fields_for(layer, principal.audience)
    }
    found["geometry"] = cql.Queryable("geometry", f"t.{layer.geom_column}", cql.GEOMETRY_TYPE)
    return found


def _properties(layer: Layer, principal: Principal, scope: RowScope) -> str:
    """The properties object; fields masked on a row are left out of it, not sent as null."""
    fields = catalog.fields_for(layer, principal.audience)
    pairs = ", ".join(f"'{f.name}', {f.expr}" for f in fields)
    masked = [f.name for f in fields if _masked(layer, scope, f, "x") != "x"]
    if not masked:
        return f"json_build_object({pairs})"
    names = ", ".join(f"'{name}'" for name in masked)
    return (
        f"(jsonb_build_object({pairs}) - "
        f"(CASE WHEN {scope.own} THEN '{{}}'::text[] ELSE ARRAY[{names}]::text[] END))"
    )


# WHERE ------------------------------------------------------------------------------------------


def _bbox_sql(layer: Layer, bbox: tuple[float, float, float, float], params: cql.Params) -> str:
    minx, miny, maxx, maxy = bbox
    geom = f"t.{layer.geom_column}"
    if minx <= maxx:
        box = [params.add(v, "double precision") for v in bbox]
        return f"ST_Intersects({geom}, ST_MakeEnvelope({', '.join(box)}, 4326))"
    # across the antimeridian: two boxes
    west = [params.add(v, "double precision") for v in (minx, miny, 180.0, maxy)]
    east = [params.add(v, "double precision") for v in (-180.0, miny, maxx, maxy)]
    return (
        f"(ST_Intersects({geom}, ST_MakeEnvelope({', '.join(west)}, 4326)) OR "
        f"ST_Intersects({geom}, ST_MakeEnvelope({', '.join(east)}, 4326)))"
    )


def _time_sql(
    layer: Layer, interval: tuple[datetime | None, datetime | None], params: cql.Params
) -> str:
    start_col = f"t.{layer.time_field}"
    end_col = f"t.{layer.time_end_field or layer.time_field}"
    start, end = interval
    parts = []
    if end is not None:
        parts.append(f"{start_col} <= {params.add(end, 'timestamptz')}")
    if start is not None:
        parts.append(f"{end_col} >= {params.add(start, 'timestamptz')}")
    return " AND ".join(parts) or "TRUE"


def where(
    layer: Layer, principal: Principal, query: ItemsQuery, params: cql.Params
) -> tuple[str, RowScope]:
    """The WHERE condition of an items query (scope first), and the caller's row scope."""
    scope = row_scope(principal, layer, start=params.next)
    params.values.extend(scope.params)
    parts = [_visible_rows(layer, scope)]
    if query.bbox is not None:
        parts.append(_bbox_sql(layer, query.bbox, params))
    if query.interval is not None and layer.time_field:
        parts.append(_time_sql(layer, query.interval, params))
    if query.extra:
        bound = filters.parse(layer, query.extra, ignore=(), audience=principal.audience)
        own = scope.own if _public_rest(layer, scope) else None
        sql, args = filters.where(bound, params.next, own)
        params.values.extend(args)
        parts.append("TRUE" + sql)
    if query.filter:
        try:
            parts.append(cql.to_sql(query.filter, queryables(layer, principal, scope), params))
        except cql.CqlError as exc:
            raise InvalidInput(str(exc)) from None
    return " AND ".join(f"({p})" for p in parts), scope


# Queries ---------------------------------------------------------------------------------------


async def items(
    conn: asyncpg.Connection, layer: Layer, principal: Principal, query: ItemsQuery
) -> Page:
    """A page of the collection's features the caller may see, ordered by key."""
    params = cql.Params()
    cond, scope = where(layer, principal, query, params)
    limit = params.add(query.limit, "bigint")
    offset = params.add(query.offset, "bigint")
    sql = FEATURE_SQL.format(
        key=layer.key_column,
        geom=layer.geom_column,
        props=_properties(layer, principal, scope),
        source=layer.source,
        where=cond,
    )
    sql += f"ORDER BY t.{layer.key_column} LIMIT {limit} OFFSET {offset}"
    try:
        rows = await conn.fetch(sql, *params.values)
        matched = await _count(conn, layer, cond, params.values[:-2])
    except (asyncpg.DataError, OverflowError) as exc:
        # a value PostgreSQL cannot take (e.g. a bad LIKE escape): the caller's input, not a fault
        raise InvalidInput(f"invalid value in the query: {exc}") from None
    return Page([r[0] for r in rows], matched)


async def _count(
    conn: asyncpg.Connection, layer: Layer, cond: str, values: list[object]
) -> int | None:
    sql = COUNT_SQL.format(source=layer.source, where=cond, cap=COUNT_CAP + 1)
    count = int(await conn.fetchval(sql, *values))
    return None if count > COUNT_CAP else count


async def item(conn: asyncpg.Connection, layer: Layer, principal: Principal, fid: str) -> str:
    """One feature the caller may see, as GeoJSON text (NotFound otherwise, in or out of scope)."""
    try:
        key = int(fid)
    except ValueError:
        raise NotFound(f"no feature {fid!r} in {layer.id}") from None
    if not -(2**63) <= key < 2**63:
        raise NotFound(f"no feature {fid!r} in {layer.id}")
    params = cql.Params()
    cond, scope = where(layer, principal, ItemsQuery(), params)
    cond += f" AND t.{layer.key_column} = {params.add(key, 'bigint')}"
    sql = FEATURE_SQL.format(
        key=layer.key_column,
        geom=layer.geom_column,
        props=_properties(layer, principal, scope),
        source=layer.source,
        where=cond,
    )
    text = await conn.fetchval(sql, *params.values)
    if text is None:
        raise NotFound(f"no feature {fid!r} in {layer.id}")
    return str(text)


async def extent(
    conn: asyncpg.Connection, layer: Layer, principal: Principal
) -> dict[str, Any] | None:
    """The spatial (and for activities temporal) extent of the rows the caller may see."""
    params = cql.Params()
    cond, _ = where(layer, principal, ItemsQuery(), params)
    row = await conn.fetchrow(
        EXTENT_SQL.format(geom=layer.geom_column, source=layer.source, where=cond), *params.values
    )
    if row is None or row[0] is None:
        return None
    result: dict[str, Any] = {"spatial": {"bbox": [[float(v) for v in row]], "crs": CRS84}}
    if layer.time_field:
        start, end = await conn.fetchrow(
            TIME_EXTENT_SQL.format(
                start=layer.time_field,
                end=layer.time_end_field or layer.time_field,
                source=layer.source,
                where=cond,
            ),
            *params.values,
        )
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
    for f in catalog.fields_for(layer, principal.audience):
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
