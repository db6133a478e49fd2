"""Write validated rows: COPY into a TEMP staging table, then one upsert per kind into the real table.

Unchanged rows are not rewritten (`… DO UPDATE … WHERE row IS DISTINCT FROM excluded`), so a rerun
of the same file changes nothing and bumps no data version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from psycopg import sql

from geo.db.partition.layout import read as partitioned
from geo.db.partition.members import upsert_members

CHUNK = 100_000
SESSION_SETTINGS = ("SET temp_buffers = '256MB'", "SET LOCAL maintenance_work_mem = '256MB'")
BULK_MIN = 50_000
BULK_INDEXES_SQL = (
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary"
)
BULK_FKEYS_SQL = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = %s::regclass AND contype = 'f'"
)
POINT = "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)"

# staging columns per table, in COPY order
STAGING: dict[str, list[tuple[str, str]]] = {
    "organisations": [
        ("code", "text"), ("name", "text"), ("type", "text"), ("parent_code", "text"),
        ("building_code", "text"), ("founded", "date"), ("contact", "text"),
        ("lon", "float8"), ("lat", "float8"), ("depth", "int"),
    ],
    "members": [
        ("external_id", "text"), ("name", "text"), ("branch_code", "text"), ("status", "text"),
        ("joined", "date"), ("lon", "float8"), ("lat", "float8"),
    ],
    "service_points": [
        ("code", "text"), ("name", "text"), ("kind", "text"), ("org_code", "text"),
        ("address", "text"), ("opening_hours", "text"), ("capacity", "int"), ("phone", "text"),
        ("lon", "float8"), ("lat", "float8"),
    ],
    "activities": [
        ("code", "text"), ("title", "text"), ("kind", "text"), ("organiser_code", "text"),
        ("service_point_code", "text"), ("starts_at", "timestamptz"), ("ends_at", "timestamptz"),
        ("capacity", "int"), ("description", "text"), ("lon", "float8"), ("lat", "float8"),
    ],
    "buildings": [
        ("code", "text"), ("name", "text"), ("use", "text"), ("height_m", "float8"),
        ("floors", "int"), ("wkb", "text"),
    ],
    "roads": [("code", "text"), ("name", "text"), ("kind", "text"), ("wkb", "text")],
    "districts": [("code", "text"), ("name", "text"), ("level", "text"), ("wkb", "text")],
    "panoramas": [
        ("code", "text"), ("title", "text"), ("image", "text"), ("width", "int"),
        ("height", "int"), ("heading", "float8"), ("service_point_code", "text"),
        ("captured_at", "timestamptz"), ("lon", "float8"), ("lat", "float8"),
    ],
    "meetings": [
        ("code", "text"), ("org_code", "text"), ("kind", "text"), ("held_on", "date"),
        ("attendance", "int"), ("note", "text"),
    ],
    "committee_terms": [
        ("code", "text"), ("org_code", "text"), ("elected_on", "date"), ("term_years", "int"),
    ],
    "dues_months": [
        ("code", "text"), ("org_code", "text"), ("month", "date"), ("paid_share", "float8"),
        ("arrears_count", "int"),
    ],
    "landuse": [("code", "text"), ("name", "text"), ("kind", "text"), ("wkb", "text")],
    "grids": [
        ("code", "text"), ("name", "text"), ("community", "text"), ("branch_code", "text"),
        ("leader_code", "text"), ("wkb", "text"),
    ],
}  # fmt: skip
ORG_OWNER = "staging s JOIN organisations o ON o.code = s.org_code"

# (target columns, SELECT expressions, FROM/JOIN clause, conflict key)
UPSERTS: dict[str, tuple[list[str], list[str], str, str]] = {
    "organisations": (
        ["code", "name", "type", "parent_id", "building_id", "founded", "contact", "geom"],
        ["s.code", "s.name", "s.type", "p.id", "b.id", "s.founded", "s.contact", POINT],
        "staging s LEFT JOIN organisations p ON p.code = s.parent_code "
        "LEFT JOIN buildings b ON b.code = s.building_code WHERE s.depth = %(depth)s",
        "code",
    ),
    "members": (
        ["external_id", "name", "branch_id", "status", "joined", "home"],
        ["s.external_id", "s.name", "o.id", "s.status", "s.joined",
         f"CASE WHEN s.lon IS NULL THEN NULL ELSE {POINT} END"],
        "staging s JOIN organisations o ON o.code = s.branch_code",
        "external_id",
    ),
    "service_points": (
        ["code", "name", "kind", "org_id", "address", "opening_hours", "capacity", "phone", "geom"],
        ["s.code", "s.name", "s.kind", "o.id", "s.address", "s.opening_hours", "s.capacity",
         "s.phone", POINT],
        "staging s LEFT JOIN organisations o ON o.code = s.org_code",
        "code",
    ),
    "activities": (
        ["code", "title", "kind", "organiser_id", "service_point_id", "starts_at", "ends_at",
         "capacity", "description", "geom"],
        ["s.code", "s.title", "s.kind", "o.id", "sp.id", "s.starts_at", "s.ends_at", "s.capacity",
         "s.description", POINT],
        "staging s JOIN organisations o ON o.code = s.organiser_code "
        "LEFT JOIN service_points sp ON sp.code = s.service_point_code",
        "code",
    ),
    "buildings": (
        ["code", "name", "use", "height_m", "floors", "geom"],
        ["s.code", "s.name", "s.use", "s.height_m", "s.floors",
         "ST_Multi(ST_SetSRID(s.wkb::geometry, 4326))"],
        "staging s",
        "code",
    ),
    "roads": (
        ["code", "name", "kind", "geom"],
        ["s.code", "s.name", "s.kind", "ST_SetSRID(s.wkb::geometry, 4326)"],
        "staging s",
        "code",
    ),
    "districts": (
        ["code", "name", "level", "geom"],
        ["s.code", "s.name", "s.level", "ST_Multi(ST_SetSRID(s.wkb::geometry, 4326))"],
        "staging s",
        "code",
    ),
    "panoramas": (
        ["code", "title", "image_path", "width", "height", "heading", "service_point_id",
         "captured_at", "geom"],
        ["s.code", "s.title", "s.image", "s.width", "s.height", "coalesce(s.heading, 0)", "sp.id",
         "s.captured_at", POINT],
        "staging s LEFT JOIN service_points sp ON sp.code = s.service_point_code",
        "code",
    ),
    "meetings": (
        ["code", "org_id", "kind", "held_on", "source", "attendance", "note"],
        ["s.code", "o.id", "s.kind", "s.held_on", "'import'", "s.attendance", "s.note"],
        ORG_OWNER,
        "code",
    ),
    "committee_terms": (
        ["code", "org_id", "elected_on", "term_years"],
        ["s.code", "o.id", "s.elected_on", "s.term_years"],
        ORG_OWNER,
        "code",
    ),
    "dues_months": (
        ["code", "org_id", "month", "paid_share", "arrears_count"],
        ["s.code", "o.id", "s.month", "s.paid_share", "s.arrears_count"],
        ORG_OWNER,
        "code",
    ),
    "landuse": (
        ["code", "name", "kind", "geom"],
        ["s.code", "s.name", "s.kind", "ST_Multi(ST_SetSRID(s.wkb::geometry, 4326))"],
        "staging s",
        "code",
    ),
    "grids": (
        ["code", "name", "community", "org_id", "leader_member_id", "geom"],
        ["s.code", "s.name", "s.community", "o.id", "m.id",
         "ST_Multi(ST_SetSRID(s.wkb::geometry, 4326))"],
        "staging s LEFT JOIN organisations o ON o.code = s.branch_code "
        "LEFT JOIN members m ON m.external_id = s.leader_code",
        "code",
    ),
}  # fmt: skip


@dataclass
class WriteCounts:
    """What an upsert did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    bulk: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def upsert_sql(table: str, only: str | None = None) -> sql.Composed:
    """INSERT … SELECT … ON CONFLICT DO UPDATE, only where something differs.

    only="new": a plain INSERT of the staged keys the table lacks (bulk loads, under the table's
    exclusive lock); only="existing": the upsert restricted to keys the table has.
    """
    targets, exprs, source, key = UPSERTS[table]
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in targets)
    others = [c for c in targets if c != key]
    sets = sql.SQL(", ").join(
        sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in others
    )
    old = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in others)
    new = sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(c)) for c in others)
    where: sql.Composable = sql.SQL("")
    if only:
        exists = sql.SQL("EXISTS (SELECT 1 FROM {t} x WHERE x.{k} = s.{k})").format(
            t=sql.Identifier(table), k=sql.Identifier(key)
        )
        where = sql.SQL(" WHERE NOT {}" if only == "new" else " WHERE {}").format(exists)
    conflict = sql.SQL(
        " ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
    ).format(key=sql.Identifier(key), sets=sets, old=old, new=new)
    return sql.SQL(
        "INSERT INTO {table} AS t ({cols}) SELECT {exprs} FROM {source}{where}{conflict}"
    ).format(
        table=sql.Identifier(table),
        cols=cols,
        exprs=sql.SQL(", ".join(exprs)),
        source=sql.SQL(source),
        where=where,
        conflict=sql.SQL("") if only == "new" else conflict,
    )


def changed_sql(table: str) -> sql.Composed:
    """How many staged rows would insert or change a row (the upsert's own test, read-only)."""
    targets, exprs, source, key = UPSERTS[table]
    source = source.split(" WHERE ")[0]  # organisations: every level at once
    named = ", ".join(
        f"{e} AS {sql.Identifier(c).as_string()}" for c, e in zip(targets, exprs, strict=True)
    )
    others = [c for c in targets if c != key]
    old = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in others)
    new = sql.SQL(", ").join(sql.SQL("n.{}").format(sql.Identifier(c)) for c in others)
    return sql.SQL(
        "SELECT count(*) FROM (SELECT {named} FROM {source}) n LEFT JOIN {table} t ON t.{key} = n.{key} "
        "WHERE t.{key} IS NULL OR ({old}) IS DISTINCT FROM ({new})"
    ).format(
        named=sql.SQL(named),
        source=sql.SQL(source),
        table=sql.Identifier(table),
        key=sql.Identifier(key),
        old=old,
        new=new,
    )


def count_changed(conn: psycopg.Connection, table: str) -> int:
    """Staged rows that are new or differ from the stored row."""
    row = conn.execute(changed_sql(table)).fetchone()
    assert row is not None
    return int(row[0])


def count_new(conn: psycopg.Connection, table: str) -> int:
    """Staged rows whose key is not in the table yet."""
    key = sql.Identifier(UPSERTS[table][3])
    row = conn.execute(
        sql.SQL(
            "SELECT count(*) FROM staging s WHERE NOT EXISTS (SELECT 1 FROM {t} x WHERE x.{k} = s.{k})"
        ).format(t=sql.Identifier(table), k=key)
    ).fetchone()
    assert row is not None
    return int(row[0])


def _is_bulk(conn: psycopg.Connection, table: str, new_rows: int) -> bool:
    """At least BULK_MIN new rows, and at least as many as the table holds already."""
    if table == "organisations" or new_rows < BULK_MIN:
        return False
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    row = conn.execute(query).fetchone()
    return row is not None and new_rows >= int(row[0])


def _copy_frame(table: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The staging columns as COPY-ready values (dates ISO, geometries hex WKB)."""
    out = pd.DataFrame(index=rows.index)
    for name, typ in STAGING[table]:
        if name == "wkb":
            out[name] = shapely.to_wkb(rows["geom"].to_numpy(dtype=object), hex=True)
        elif typ == "date":
            out[name] = rows[name].dt.strftime("%Y-%m-%d")
        elif typ == "timestamptz":
            out[name] = rows[name].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        else:
            out[name] = rows[name]
    return out


def create_staging(conn: psycopg.Connection, table: str) -> None:
    """A TEMP table dropped at commit; no indexes, no WAL."""
    # session memory for this one connection: the staging table stays in RAM (the default 8 MB
    # spills a million rows to temp files) and the bulk path's index rebuild sorts in memory
    for setting in SESSION_SETTINGS:
        conn.execute(setting)
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in STAGING[table]
    )
    conn.execute(sql.SQL("CREATE TEMP TABLE staging ({}) ON COMMIT DROP").format(cols))


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    rows: pd.DataFrame,
    advance: Callable[[int], None] | None = None,
) -> None:
    """COPY rows into staging as CSV, in chunks (the progress bar advances per chunk)."""
    names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in STAGING[table])
    stmt = sql.SQL("COPY staging ({}) FROM STDIN (FORMAT csv)").format(names)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for start in range(0, len(rows), CHUNK):
            chunk = _copy_frame(table, rows.iloc[start : start + CHUNK])
            buf = pa.BufferOutputStream()
            pacsv.write_csv(pa.Table.from_pandas(chunk, preserve_index=False), buf, options)
            copy.write(buf.getvalue().to_pybytes())
            if advance:
                advance(len(chunk))


def _deferrable_ddl(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(drop, create) statements for the table's non-unique indexes and outgoing foreign keys."""
    out: list[tuple[str, str]] = []
    for name, ddl in conn.execute(BULK_INDEXES_SQL, (table,)):
        out.append((f"DROP INDEX {name}", ddl))
    ident = sql.Identifier(table).as_string(conn)
    for name, ddl in conn.execute(BULK_FKEYS_SQL, (table,)):
        quoted = sql.Identifier(name).as_string(conn)
        out.append(
            (
                f"ALTER TABLE {ident} DROP CONSTRAINT {quoted}",
                f"ALTER TABLE {ident} ADD CONSTRAINT {quoted} {ddl}",
            )
        )
    return out


def _drop_deferrable(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """Drop what a bulk load rebuilds; nothing when the role may not (it then writes through)."""
    deferred = _deferrable_ddl(conn, table)
    try:
        with conn.transaction():  # a savepoint: a refused DROP leaves the import going
            for drop, _ in deferred:
                conn.execute(drop)  # type: ignore[arg-type]
    except psycopg.errors.InsufficientPrivilege:
        return []
    return deferred


def upsert(conn: psycopg.Connection, table: str, rows: pd.DataFrame) -> WriteCounts:
    """Staging → real table; organisations level by level so parents exist before children.

    A bulk load (at least BULK_MIN new rows, and at least as many as the table holds) follows the
    PostgreSQL manual's advice for populating a database: the table's non-unique indexes and its
    foreign keys are dropped and rebuilt in the same transaction (same names and definitions; the
    foreign keys re-validated in one pass). Smaller imports write through the indexes with the
    single upsert statement.
    """
    t0 = time.perf_counter()
    new_rows = count_new(conn, table)
    by_province = table == "members" and partitioned(conn)  # the layout (geo/db/partition)
    bulk = not by_province and _is_bulk(conn, table, new_rows)
    timings = {"count_new": time.perf_counter() - t0}
    if not bulk and count_changed(conn, table) == 0:
        # nothing to write: run no statement at all, so no data version moves and caches stay
        timings["count_changed"] = time.perf_counter() - t0 - timings["count_new"]
        return WriteCounts(unchanged=len(rows), timings=timings)
    t0 = time.perf_counter()
    deferred = _drop_deferrable(conn, table) if bulk else []
    written = 0
    if table == "organisations":
        stmt = upsert_sql(table)
        for depth in sorted(set(rows["depth"].tolist())):
            written += conn.execute(stmt, {"depth": depth}).rowcount
    elif by_province:
        written = upsert_members(conn, UPSERTS[table])
    elif deferred:
        # ON CONFLICT's speculative insertion costs ~45% more per row than a plain INSERT; under
        # the exclusive lock the bulk path holds, new keys cannot race, so they go in plainly.
        written = conn.execute(upsert_sql(table, "existing")).rowcount  # before the new ones
        written += conn.execute(upsert_sql(table, "new")).rowcount
    else:
        written = conn.execute(upsert_sql(table)).rowcount
    timings["upsert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, create in deferred:
        conn.execute(create)  # type: ignore[arg-type]
    timings["rebuild_indexes"] = time.perf_counter() - t0
    return WriteCounts(
        inserted=new_rows,
        updated=written - new_rows,
        unchanged=len(rows) - written,
        bulk=bool(deferred),
        timings=timings,
    )
