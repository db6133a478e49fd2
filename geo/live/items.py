"""The statements of a write through the API, over one item of a writable table.

Identifiers come from `geo.live.feature_rows.TABLES` and the layer (never from a request);
values travel as parameters, composed by geo/compose.py from the `.sql` files in `sql/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import shapely

from geo import compose
from geo.compose import Fragment, sql_file
from geo.errors import NotFound
from geo.live.feature_rows import COORDINATES, TABLES, Table
from geo.scope import Principal, row_scope, visible_rows
from layers.base import LIST_TYPES, Layer

ROW = sql_file(__file__, "sql/item_row.sql")
ETAG = sql_file(__file__, "sql/item_etag.sql")
INSERT = sql_file(__file__, "sql/insert_item.sql")
UPDATE = sql_file(__file__, "sql/update_item.sql")
DELETE = sql_file(__file__, "sql/delete_item.sql")
POINT = sql_file(__file__, "sql/geom_point.sql")
SHAPE = sql_file(__file__, "sql/geom_shape.sql")
CURRENT = {name: sql_file(__file__, f"sql/current_{name}.sql") for name in TABLES}
LOCK = compose.raw(" FOR UPDATE OF t")
TOUCH = compose.raw(", updated_at = now()")  # activities say when they last changed


@dataclass(frozen=True)
class Stored:
    """A stored item as a write finds it: its ETag, its record (every column, the geometry as
    GeoJSON), and whether the caller may see it and may write it."""

    id: int
    etag: str
    record: dict[str, Any]
    visible: bool = True
    writable: bool = True


def key_of(layer: Layer, fid: str | int) -> int:
    """The item's key from the path (NotFound when it is no bigint, as for GET)."""
    try:
        key = int(fid)
    except ValueError:
        raise NotFound(f"no feature {fid!r} in {layer.id}") from None
    if not -(2**63) <= key < 2**63:
        raise NotFound(f"no feature {fid!r} in {layer.id}")
    return key


def table_name(layer: Layer) -> str | None:
    """The writable table behind a layer (None: the collection is read-only): its table, or
    for a layer served from SQL the table it names as `write_table` (the 党建网格)."""
    name = layer.table if layer.source_sql is None else layer.write_table
    return name if name in TABLES else None


def _list_fields(layer: Layer) -> Fragment:
    """`|| jsonb_build_object(…)` of the layer's list fields, which live in tables of their own
    (an activity's invited organisations): the record holds them, so the audit does."""
    pairs = [
        compose.sql("{n}, {e}", n=compose.literal(f.name), e=compose.raw(f.expr))
        for f in layer.fields
        if f.type in LIST_TYPES
    ]
    if not pairs:
        return compose.EMPTY
    return compose.sql(" || jsonb_build_object({pairs})", pairs=compose.join(", ", pairs))


async def stored(
    conn: asyncpg.Connection, layer: Layer, principal: Principal, key: int, *, lock: bool = True
) -> Stored | None:
    """The item (locked until the transaction ends) and the caller's rights on it."""
    scope = row_scope(principal, layer)
    stmt = compose.sql(
        ROW,
        table=compose.ident(str(table_name(layer))),
        more=_list_fields(layer),
        visible=visible_rows(scope),
        writable=scope.cond,
        id=compose.value(key),
        lock=LOCK if lock else compose.EMPTY,
    )
    row = await conn.fetchrow(stmt.compile().text, *stmt.args())
    if row is None:
        return None
    record = json.loads(row["record"])
    return Stored(key, row["etag"], record, bool(row["visible"]), bool(row["writable"]))


async def etag(conn: asyncpg.Connection, layer: Layer, key: int) -> str | None:
    """The item's ETag (the hash of its stored row), None when there is no such item."""
    stmt = compose.sql(ETAG, table=compose.ident(str(table_name(layer))), id=compose.value(key))
    found = await conn.fetchval(stmt.compile().text, *stmt.args())
    return None if found is None else str(found)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


async def current_fields(conn: asyncpg.Connection, name: str, key: int) -> dict[str, Any]:
    """The stored item as the import's fields, as text (what a merge patch applies to)."""
    row = await conn.fetchrow(CURRENT[name], key)
    if row is None:
        raise NotFound(f"no item {key} in {name}")
    return {k: _as_text(v) for k, v in dict(row).items()}


def columns(table: Table, values: dict[str, Any], ids: dict[str, int | None]) -> dict[str, Any]:
    """Checked field values as table columns (references as the ids of their rows)."""
    out: dict[str, Any] = {}
    for f in table.spec.fields:
        value = ids.get(f.name) if f.type == "ref" else values.get(f.name)
        if f.type == "date" and isinstance(value, datetime):
            value = value.date()
        out[table.column(f.name)] = value
    return out


def _values(cols: dict[str, Any]) -> list[tuple[Fragment, Fragment]]:
    return [(compose.ident(c), compose.value(v)) for c, v in cols.items()]


def _geom(values: dict[str, Any]) -> Fragment:
    """The item's geometry: its checked shape (tables of shapes) or the point from lon/lat."""
    if values.get("geom") is not None:
        return compose.sql(SHAPE, wkb=compose.value(shapely.to_wkb(values["geom"])))
    return compose.sql(POINT, **{c: compose.value(float(values[c])) for c in COORDINATES})


async def insert(
    conn: asyncpg.Connection, name: str, cols: dict[str, Any], values: dict[str, Any]
) -> int:
    """A new row; its id."""
    pairs = _values(cols)
    stmt = compose.sql(
        INSERT,
        table=compose.ident(name),
        columns=compose.join(", ", (c for c, _ in pairs)),
        values=compose.join(", ", (v for _, v in pairs)),
        geom=_geom(values),
    )
    return int(await conn.fetchval(stmt.compile().text, *stmt.args()))


async def update(
    conn: asyncpg.Connection, name: str, key: int, cols: dict[str, Any], values: dict[str, Any]
) -> None:
    """The row rewritten with the checked values."""
    sets = (compose.sql("{c} = {v}", c=c, v=v) for c, v in _values(cols))
    stmt = compose.sql(
        UPDATE,
        table=compose.ident(name),
        sets=compose.join(", ", sets),
        extra=TOUCH if TABLES[name].activities else compose.EMPTY,
        id=compose.value(key),
        geom=_geom(values),
    )
    await conn.execute(stmt.compile().text, *stmt.args())


async def delete(conn: asyncpg.Connection, name: str, key: int) -> None:
    """The row removed."""
    stmt = compose.sql(DELETE, table=compose.ident(name), id=compose.value(key))
    await conn.execute(stmt.compile().text, *stmt.args())
