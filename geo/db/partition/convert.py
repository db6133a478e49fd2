"""Convert a database to the partitioned layout: members, registrations, check-ins and events
`PARTITION BY LIST (province_id)`, one partition per top-level organisation and a DEFAULT that
stays empty (docs/SCALE.md, "Partitioning by province").

Everything runs in ONE transaction under ACCESS EXCLUSIVE locks: it commits whole or not at
all, so a failed or interrupted run leaves the default layout and is simply run again. Each
table's definition is read from the catalog (columns, CHECK constraints, defaults, comments,
triggers, indexes, grants) and re-created on its partitioned twin; primary and unique keys gain
`province_id` in front (a unique index of a partitioned table must hold the key); foreign keys
to members become `(province_id, member_id) → members (province_id, id) ON UPDATE CASCADE`;
users' and grids' keys to members become triggers (links.sql).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from geo.db.partition import catalog as cat
from geo.db.partition.layout import TABLES, read
from geo.errors import DjmapError

HERE = Path(__file__).parent
TMP = "{}_part"
# Where a row's province comes from (FROM clause over the old table `x`, expression), read while
# the old tables are still there.
PROVINCE_OF = {
    "members": ("{} x JOIN organisations o ON o.id = x.branch_id", "o.province_id"),
    "registrations": (
        "{} x JOIN members m ON m.id = x.member_id JOIN organisations o ON o.id = m.branch_id",
        "o.province_id",
    ),
    "checkins": (
        "{} x JOIN members m ON m.id = x.member_id JOIN organisations o ON o.id = m.branch_id",
        "o.province_id",
    ),
    "events": ("{} x LEFT JOIN organisations o ON o.id = x.org_id", "coalesce(o.province_id, 0)"),
}
PUBLIC_EVENTS = 0  # events of no organisation: a partition of their own

Step = Callable[[str], None]


class PartitionError(DjmapError):
    """The database holds something this conversion does not know how to carry over."""


@dataclass
class Defs:
    """What a table carries, read from the catalog before it is replaced."""

    columns: list[str]
    triggers: list[str]
    indexes: list[str]
    keys: list[tuple[str, str, list[str]]]
    fkeys: list[tuple[str, str, str, str, list[str]]]
    grants: list[tuple[str, str]]
    sequences: list[tuple[str, str]]


@dataclass
class Report:
    """What a run did (or, on a dry run, would do)."""

    already: bool = False
    dry_run: bool = False
    provinces: list[int] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _one_col(conn: psycopg.Connection[Any], query: Any, *args: object) -> list[Any]:
    return [r[0] for r in conn.execute(query, args)]


def capture(conn: psycopg.Connection[Any], table: str) -> Defs:
    """The table's definition, as the catalog gives it."""

    def rows(query: Any) -> list[Any]:
        return [tuple(r) for r in conn.execute(query, (table,))]

    return Defs(
        columns=_one_col(conn, cat.COLUMNS_SQL, table),
        triggers=_one_col(conn, cat.TRIGGERS_SQL, table),
        indexes=_one_col(conn, cat.INDEXES_SQL, table),
        keys=rows(cat.KEYS_SQL),
        fkeys=rows(cat.FKEYS_SQL),
        grants=rows(cat.GRANTS_SQL),
        sequences=rows(cat.SEQUENCES_SQL),
    )


def check_supported(conn: psycopg.Connection[Any]) -> None:
    """Refuse what the conversion would not carry over: row security, unknown foreign keys."""
    row = conn.execute(cat.ROW_SECURITY_SQL, (list(TABLES),)).fetchone()
    if row and row[0]:
        raise PartitionError("row security or policies on these tables: not carried over")
    incoming = {tuple(r) for r in conn.execute(cat.INCOMING_SQL, ("members",))}
    for table in TABLES[1:]:
        found = conn.execute(cat.INCOMING_SQL, (table,)).fetchall()
        if found:
            raise PartitionError(f"foreign keys point at {table}: {found}")
    if not incoming <= cat.INCOMING:
        raise PartitionError(f"unknown foreign keys point at members: {incoming - cat.INCOMING}")


def partition_name(table: str, value: int | None) -> sql.Identifier:
    """members_prov_<top-level organisation id>, members_prov_default."""
    return sql.Identifier(f"{table}_prov_{'default' if value is None else value}")


def create_twin(conn: psycopg.Connection[Any], table: str, provinces: list[int]) -> None:
    """The partitioned twin `<table>_part`, with its partitions (final names already)."""
    default = sql.SQL(" DEFAULT 0" if table == "events" else "")
    conn.execute(
        sql.SQL(
            "CREATE TABLE {tmp} (LIKE {t} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING STORAGE INCLUDING COMMENTS, province_id bigint NOT NULL{default})"
            " PARTITION BY LIST (province_id)"
        ).format(tmp=sql.Identifier(TMP.format(table)), t=sql.Identifier(table), default=default)
    )
    values = [PUBLIC_EVENTS, *provinces] if table == "events" else provinces
    for value in values:
        conn.execute(
            sql.SQL("CREATE TABLE {p} PARTITION OF {tmp} FOR VALUES IN ({v})").format(
                p=partition_name(table, value),
                tmp=sql.Identifier(TMP.format(table)),
                v=sql.Literal(value),
            )
        )
    conn.execute(
        sql.SQL("CREATE TABLE {p} PARTITION OF {tmp} DEFAULT").format(
            p=partition_name(table, None), tmp=sql.Identifier(TMP.format(table))
        )
    )


def copy_rows(conn: psycopg.Connection[Any], table: str, defs: Defs) -> int:
    """Every row into the twin, with its province."""
    source, province = PROVINCE_OF[table]
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in defs.columns)
    xcols = sql.SQL(", ").join(sql.SQL("x.{}").format(sql.Identifier(c)) for c in defs.columns)
    stmt = sql.SQL("INSERT INTO {tmp} ({cols}, province_id) SELECT {xcols}, {prov} FROM {src}")
    return conn.execute(
        stmt.format(
            tmp=sql.Identifier(TMP.format(table)),
            cols=cols,
            xcols=xcols,
            prov=sql.SQL(province),  # type: ignore[arg-type]
            src=sql.SQL(source).format(sql.Identifier(table)),  # type: ignore[arg-type]
        )
    ).rowcount


def drop_old(conn: psycopg.Connection[Any], tables: dict[str, Defs]) -> None:
    """Hand the sequences to the twins, drop the keys users and grids hold on members, then the
    old tables (referencing ones first; RESTRICT: anything unexpected depending on them stops
    the run)."""
    for table, defs in tables.items():
        for seq, col in defs.sequences:
            conn.execute(
                sql.SQL("ALTER SEQUENCE {s} OWNED BY {tmp}.{c}").format(
                    s=sql.Identifier(seq),
                    tmp=sql.Identifier(TMP.format(table)),
                    c=sql.Identifier(col),
                )
            )
    for owner, name in sorted(cat.INCOMING):
        if owner not in tables:
            conn.execute(
                sql.SQL("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n}").format(
                    t=sql.Identifier(owner), n=sql.Identifier(name)
                )
            )
    for table in reversed(list(tables)):
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("ALTER TABLE {tmp} RENAME TO {t}").format(
                tmp=sql.Identifier(TMP.format(table)), t=sql.Identifier(table)
            )
        )


def _fkey(table: str, fk: tuple[str, str, str, str, list[str]]) -> sql.Composed:
    name, target, definition, on_delete, cols = fk
    if target in TABLES:
        return sql.SQL(
            "ALTER TABLE {t} ADD CONSTRAINT {n} FOREIGN KEY (province_id, {cols})"
            " REFERENCES {target} (province_id, id) ON UPDATE CASCADE ON DELETE {action}"
        ).format(
            t=sql.Identifier(table),
            n=sql.Identifier(name),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
            target=sql.Identifier(target),
            action=sql.SQL(cat.FK_ACTIONS[on_delete]),  # type: ignore[arg-type]
        )
    return sql.SQL("ALTER TABLE {t} ADD CONSTRAINT {n} {d}").format(
        t=sql.Identifier(table),
        n=sql.Identifier(name),
        d=sql.SQL(definition),  # type: ignore[arg-type]
    )


def rebuild(conn: psycopg.Connection[Any], table: str, defs: Defs) -> None:
    """Keys (with province_id in front) and, beside each, a plain index on its own columns
    (`<key>_lookup`: lookups by id or by external_id name no province), the other indexes,
    foreign keys, triggers and grants of the old table, on the renamed twin."""
    t = sql.Identifier(table)
    for name, kind, cols in defs.keys:
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        conn.execute(
            sql.SQL("ALTER TABLE {t} ADD CONSTRAINT {n} {kind} (province_id, {cols})").format(
                t=t,
                n=sql.Identifier(name),
                kind=sql.SQL("PRIMARY KEY" if kind == "p" else "UNIQUE"),
                cols=columns,
            )
        )
        lookup = sql.Identifier(f"{name}_lookup")
        conn.execute(
            sql.SQL("CREATE INDEX {n} ON {t} ({cols})").format(n=lookup, t=t, cols=columns)
        )
    for ddl in (*defs.indexes, *defs.triggers):
        conn.execute(ddl)  # type: ignore[arg-type]  # catalog text (pg_get_indexdef / pg_get_triggerdef), same names
    for fk in defs.fkeys:
        conn.execute(_fkey(table, fk))
    for grantee, privilege in defs.grants:
        if privilege not in cat.PRIVILEGES:
            raise PartitionError(f"unknown privilege {privilege} on {table}")
        role = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)
        conn.execute(
            sql.SQL("GRANT {p} ON {t} TO {r}").format(
                p=sql.SQL(privilege),  # type: ignore[arg-type]
                t=t,
                r=role,
            )
        )


def partition_rows(conn: psycopg.Connection[Any]) -> dict[str, dict[str, int]]:
    """Rows per partition of each partitioned table."""
    out: dict[str, dict[str, int]] = {}
    for table in TABLES:
        query = sql.SQL(cat.PARTITION_ROWS).format(sql.Identifier(table))
        out[table] = {str(name): int(n) for name, n in conn.execute(query)}
    return out


def _convert(conn: psycopg.Connection[Any], step: Step, report: Report) -> None:
    """The whole conversion, inside the caller's transaction."""
    step("lock")
    conn.execute(
        "LOCK TABLE organisations, members, registrations, checkins, events, users, grids"
        " IN ACCESS EXCLUSIVE MODE"
    )
    check_supported(conn)
    defs = {table: capture(conn, table) for table in TABLES}
    step("organisations.province_id")
    conn.execute((HERE / "organisations.sql").read_text(encoding="utf-8"))  # type: ignore[arg-type]
    report.provinces = _one_col(conn, cat.PROVINCES_SQL)
    for table in TABLES:
        step(f"copy {table}")
        create_twin(conn, table, report.provinces)
        copy_rows(conn, table, defs[table])
    step("swap names")
    drop_old(conn, defs)
    for table in TABLES:
        step(f"keys, indexes, triggers: {table}")
        rebuild(conn, table, defs[table])
    step("links")
    conn.execute((HERE / "links.sql").read_text(encoding="utf-8"))  # type: ignore[arg-type]
    conn.execute(
        "COMMENT ON TABLE members IS 'partitioned by province (djmap db partition): "
        "members, registrations, checkins, events'"
    )
    report.rows = partition_rows(conn)


def convert(url: str, *, dry_run: bool = False, step: Step | None = None) -> Report:
    """Convert the database at `url` (a no-op when it is partitioned already). A dry run does
    all of it and rolls back, so its report is what a real run would make."""
    step = step or (lambda _label: None)
    t0 = time.perf_counter()
    report = Report(dry_run=dry_run)
    with psycopg.connect(url) as conn:
        if read(conn):
            report.already = True
            report.missing = _one_col(conn, cat.MISSING_PARTITIONS_SQL)
            report.rows = partition_rows(conn)
            conn.rollback()
            return report
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        _convert(conn, step, report)
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
            step("analyze")
            conn.autocommit = True
            for table in ("organisations", *TABLES):
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    if not dry_run:
        read_layout(url)
    report.seconds = time.perf_counter() - t0
    return report


def read_layout(url: str) -> bool:
    """Read (and record for this process) the layout of the database at `url`."""
    with psycopg.connect(url, autocommit=True) as conn:
        return read(conn)
