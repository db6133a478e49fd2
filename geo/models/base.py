"""The declarative base and the column and constraint shapes the tables share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Index, MetaData, Text, column
from sqlalchemy.orm import DeclarativeBase

# PostgreSQL's own default names, so tables made from the models match those made by hand before.
NAMING = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
}
POINT_IN_RANGE = "ST_X({c}) BETWEEN -180 AND 180 AND ST_Y({c}) BETWEEN -90 AND 90"
EXTENT_IN_RANGE = (
    "ST_XMin({c}) >= -180 AND ST_XMax({c}) <= 180 AND ST_YMin({c}) >= -90 AND ST_YMax({c}) <= 90"
)


class Base(DeclarativeBase):
    """Declarative base of every djmap table."""

    metadata = MetaData(naming_convention=NAMING)


def geometry(kind: str) -> Any:
    """A WGS84 geometry column type (spatial indexes are declared by name with `gist`)."""
    return Geometry(kind, srid=4326, spatial_index=False)


def since(revision: str, constraint: CheckConstraint) -> CheckConstraint:
    """Mark a constraint as added by a later revision (columns say it with
    `info={"since": revision}`): revisions that create the table from the models leave it out,
    and `revision` adds it (geo.db.migrate.as_created)."""
    constraint.info["since"] = revision
    return constraint


def check(table: str, name: str, sql: str) -> CheckConstraint:
    """A CHECK constraint called `<table>_<name>`."""
    return CheckConstraint(sql, name=f"{table}_{name}")


def one_of(table: str, col: str, values: Iterable[str]) -> CheckConstraint:
    """`<table>_<col>_check`: the column holds one of `values` (from geo.vocab)."""
    return CheckConstraint(column(col, Text).in_(tuple(values)), name=f"{table}_{col}_check")


def gist(table: str, col: str = "geom") -> Index:
    """The GiST index `<table>_<col>_gist` of a geometry column."""
    return Index(f"{table}_{col}_gist", col, postgresql_using="gist")


def geom_checks(
    table: str, col: str = "geom", *, extent: bool, optional: bool = False
) -> tuple[CheckConstraint, CheckConstraint]:
    """`<table>_<col>_valid` and `_range`: a valid, non-empty geometry inside WGS84's range
    (`extent`: by its bounding box, for lines and polygons; `optional`: NULL allowed)."""
    valid = f"ST_IsValid({col}) AND NOT ST_IsEmpty({col})"
    in_range = (EXTENT_IN_RANGE if extent else POINT_IN_RANGE).format(c=col)
    if optional:
        valid, in_range = f"{col} IS NULL OR ({valid})", f"{col} IS NULL OR ({in_range})"
    return check(table, f"{col}_valid", valid), check(table, f"{col}_range", in_range)
