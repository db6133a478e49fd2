"""Migrations: Alembic configured in code.

The models (geo/models) are the schema. Revisions 0001-0003 create their tables from them
(`create_tables`, fingerprinted by `shape`); a later change to the models is a new revision whose
operations Alembic's autogenerate renders (`autogenerate`, the same comparison
tests/test_schema.py runs). What the models cannot express (functions, triggers) is SQL in
geo/migrations/sql/, run by `run_sql`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from geo.cluster import EXTENSIONS
from geo.errors import ClusterError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Constraint, Index, Table

# Alembic, SQLAlchemy and the models are imported where they are used: every `djmap` command
# imports this module (through geo.db), and most never migrate (1 s of start-up quiet, 3.5 s
# under load, half the printed report's imports).

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQL = MIGRATIONS / "sql"


def ours(name: str | None, type_: str, parent: Any) -> bool:
    """Autogenerate's filter: only djmap's tables (not PostGIS's spatial_ref_sys, nor tables of
    other extensions), so a comparison never proposes to drop them."""
    from geo.models import Base

    return type_ != "table" or name in Base.metadata.tables


# How autogenerate compares (geo/migrations/env.py and tests/test_schema.py).
COMPARE: dict[str, Any] = {
    "include_name": ours,
    "compare_type": True,
    "compare_server_default": True,
}


def sqlalchemy_url(url: str) -> str:
    """The libpq URL in SQLAlchemy's psycopg 3 form."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def alembic_config(url: str) -> Config:
    """Alembic configuration built in code: no alembic.ini to keep in step."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def create_extensions(url: str) -> None:
    """Create the extensions djmap needs (needs a role allowed to, e.g. the owner or superuser)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for ext in EXTENSIONS:
            try:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext} CASCADE")
            except psycopg.Error as exc:
                raise ClusterError(
                    f"extension {ext} is not available on {url}: {exc}. Install PostGIS 3 and "
                    "pgRouting for the server (apt-get install postgresql-15-postgis-3 "
                    "postgresql-15-pgrouting)."
                ) from exc


def migrate(url: str, revision: str = "head") -> None:
    """Bring an empty or older database to `revision`, extensions included."""
    from alembic import command

    create_extensions(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the schema back to `revision` (base = nothing)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The migration revision the database is at, or None when unmigrated."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None


def autogenerate(url: str, message: str) -> Path:
    """Write the next revision (0004, 0005 …) with the operations that take the database at
    `url` (migrated to head) to the models; returns its file. Review it, add any SQL the models
    cannot express (geo/migrations/sql/), and keep it: revisions are history, never edited."""
    from alembic import command

    cfg = alembic_config(url)
    numbers = [int(p.name[:4]) for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    script = command.revision(
        cfg, message=message, autogenerate=True, rev_id=f"{max(numbers, default=0) + 1:04d}"
    )
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


def as_created(names: Iterable[str]) -> list[Table]:
    """These tables of the models as the revision that creates them makes them: without the
    columns and constraints a later revision adds (marked `info={"since": revision}` in the
    models, geo.models.base.since), with the column attributes a later revision altered as
    they were (`info={"created_as": {"nullable": False}}`), and under the name a later revision
    changed (`__table_args__` info `{"created_as": {"name": ...}}`: the revision names the table
    as it created it), so an old revision creates today what it always created."""
    from sqlalchemy import MetaData

    from geo.models import Base

    copy = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    out = []
    for name in names:
        model = model_of(name)
        table = copy.tables[name] if name == model.name else model.to_metadata(copy, name=name)
        _keep_order(model, table)
        _rename_parts(table, model.name)
        for col in [c for c in table.columns if c.info.get("since")]:
            table._columns.remove(col)  # Table has no public way to drop a column
        for col in table.columns:
            for attr, value in col.info.get("created_as", {}).items():
                setattr(col, attr, value)  # as the creating revision made it (a later one alters)
        for con in [c for c in table.constraints if c.info.get("since")]:
            table.constraints.discard(con)
        out.append(table)
    return out


def created_name(table: Table) -> str:
    """The name the revision that creates this table of the models gave it."""
    return str(table.info.get("created_as", {}).get("name", table.name))


def model_of(name: str) -> Table:
    """The table of the models a revision names: by its name, or by the name it was created
    with (a later revision renamed it)."""
    from geo.models import Base

    if name in Base.metadata.tables:
        return Base.metadata.tables[name]
    renamed = [t for t in Base.metadata.tables.values() if created_name(t) == name]
    if len(renamed) != 1:
        raise KeyError(f"no table of the models is or was created as {name!r}")
    return renamed[0]


def _rename_parts(table: Table, model_name: str) -> None:
    """A table rendered under its created name: its constraints and indexes named after the
    model's name (`<name>_pkey`, `<name>_status_check` …) take the created name instead."""
    from sqlalchemy.schema import conv

    if table.name == model_name:
        return
    prefix = f"{model_name}_"
    parts: list[Constraint | Index] = [*table.constraints, *table.indexes]
    for part in parts:
        if isinstance(part.name, str) and part.name.startswith(prefix):
            part.name = conv(table.name + part.name[len(model_name) :])


def _key(con: Any) -> tuple[str, str, tuple[str, ...]]:
    return (type(con).__name__, str(con.name), tuple(c.name for c in con.columns))


def _keep_order(source: Table, copy: Table) -> None:
    """Give the copy's constraints their originals' creation order (`to_metadata` copies them
    from a set), so the copy renders the same DDL every time."""
    order = {_key(c): c._creation_order for c in source.constraints}
    for con in copy.constraints:
        con._creation_order = order[_key(con)]  # type: ignore[attr-defined]


def create_tables(conn: Connection, names: Iterable[str]) -> None:
    """Create these tables of the models as created (`as_created`: constraints, indexes and
    comments included; what later revisions add left out)."""
    tables = as_created(names)
    tables[0].metadata.create_all(conn, tables=tables, checkfirst=False)


def drop_tables(conn: Connection, names: Iterable[str]) -> None:
    """Drop these tables of the models, dependants first (named as `as_created` names them:
    a revision's downgrade finds its tables as it created them, later revisions undone)."""
    tables = as_created(names)
    tables[0].metadata.drop_all(conn, tables=tables, checkfirst=True)


def shape(names: Iterable[str], *seeds: object) -> str:
    """A fingerprint of these tables as the models define them (their DDL, indexes and comments)
    and of the `seeds` a revision takes from the code (rows, lists of tables).

    A revision that creates tables from the models records it (`SHAPE`); tests/test_schema.py
    fails when the models of those tables change, because the revision would then create the
    new shape where the databases it once migrated have the old one."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = postgresql.dialect()
    parts: list[str] = []
    for table in as_created(names):
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts += sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
        parts += [repr((table.comment, *(c.comment for c in table.columns)))]
    parts += [repr(seed) for seed in seeds]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def run_sql(conn: Connection, name: str, **identifiers: str) -> None:
    """Run geo/migrations/sql/`name` as one script, its `{key}` fields filled with `identifiers`
    quoted as SQL identifiers (psycopg's composer).

    Straight to the driver: function bodies are dollar-quoted and may hold `:` or `%` that
    SQLAlchemy's text() or a parameter pass would read as placeholders."""
    raw = conn.connection.driver_connection
    assert raw is not None
    script = (SQL / name).read_text(encoding="utf-8")
    if identifiers:
        names = {key: sql.Identifier(value) for key, value in identifiers.items()}
        raw.execute(sql.SQL(script).format(**names))  # type: ignore[arg-type]
    else:
        raw.execute(script)
