"""The member import's write on the partitioned layout (geo/ingest/writers.py `upsert`).

`ON CONFLICT (external_id)` needs a unique index on external_id alone, which a table partitioned
by province cannot have (`members_external_id_key` is `(province_id, external_id)` there), and a
member whose branch moved to another province must move partition, not be inserted twice. So
the one upsert becomes two statements, with the same effect on rows:
1. UPDATE the members the table has, where something differs (a new province moves the row, and
   ON UPDATE CASCADE moves its check-ins and registrations with it);
2. INSERT the staged members it lacks (`ON CONFLICT (province_id, external_id) DO NOTHING`
   against a concurrent import of the same member in the same province).
External ids stay unique across provinces as long as imports do not race on the same new
member in two provinces at once (nothing can enforce it across partitions in one index).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

PROVINCE = "o.province_id"  # the branch's province: `o` is the branch in the import's FROM


def _named(targets: list[str], exprs: list[str]) -> sql.Composed:
    pairs = [
        sql.SQL("{} AS {}").format(sql.SQL(e), sql.Identifier(c))  # type: ignore[arg-type]
        for c, e in zip(targets, exprs, strict=True)
    ]
    return sql.SQL(", ").join(pairs)


def update_sql(targets: list[str], exprs: list[str], source: str, key: str) -> sql.Composed:
    """UPDATE of the stored members whose staged row differs (province included)."""
    cols = ["province_id", *(c for c in targets if c != key)]

    def row(alias: str) -> sql.Composed:
        return sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in cols
        )

    return sql.SQL(
        "UPDATE members t SET ({cols}) = ({new}) FROM (SELECT {named}, {prov} AS province_id"
        " FROM {source}) n WHERE t.{key} = n.{key} AND ({old}) IS DISTINCT FROM ({new})"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        new=row("n"),
        old=row("t"),
        named=_named(targets, exprs),
        prov=sql.SQL(PROVINCE),
        source=sql.SQL(source),  # type: ignore[arg-type]
        key=sql.Identifier(key),
    )


def insert_sql(targets: list[str], exprs: list[str], source: str, key: str) -> sql.Composed:
    """INSERT of the staged members the table lacks, each into its province."""
    return sql.SQL(
        "INSERT INTO members ({cols}, province_id) SELECT {exprs}, {prov} FROM {source}"
        " WHERE NOT EXISTS (SELECT 1 FROM members x WHERE x.{key} = s.{key})"
        " ON CONFLICT (province_id, {key}) DO NOTHING"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in targets),
        exprs=sql.SQL(", ".join(exprs)),  # type: ignore[arg-type]
        prov=sql.SQL(PROVINCE),
        source=sql.SQL(source),  # type: ignore[arg-type]
        key=sql.Identifier(key),
    )


def upsert_members(
    conn: psycopg.Connection[Any], spec: tuple[list[str], list[str], str, str]
) -> int:
    """Rows written (updated + inserted), as the one upsert's rowcount would say."""
    targets, exprs, source, key = spec
    written = conn.execute(update_sql(targets, exprs, source, key)).rowcount
    return written + conn.execute(insert_sql(targets, exprs, source, key)).rowcount
