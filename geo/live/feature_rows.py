"""A GeoJSON Feature written through the API, checked exactly as an import checks a row.

The feature's properties are the import's fields (geo/ingest/spec.py): the same names, the same
Chinese and English aliases, the same reason codes (`bad_datetime`, `unknown_organiser`,
`missing_required` …); times without an offset are Beijing time. The one row goes through the
import's own `prepare` (geo/ingest/validate.py), so a write accepts what an import accepts.

What differs from a file, because a feature comes from the API:
- coordinates are the Point geometry's (CRS84), never properties;
- a property naming an id the API serves (`organiser_id`, `service_point_id`, `org_id`,
  `parent_id`, `building_id`) may hold that id as a JSON number: it is read as the row's code, so
  a feature read with GET can be written back;
- `id`, `status`, `cancel_reason` and `updated_at` are read-only (`READ_ONLY`): they are never
  aliases of another field;
- an activity's invited organisations (`invited_org_ids`, aliases `INVITED`) are no import field:
  the draft keeps them aside for geo/live/invitations.py;
- an activity at a service point without a geometry is placed at the service point;
- a property no field knows is an error (`unknown_property`), not a warning;
- a table of shapes (党建网格) takes a Polygon or MultiPolygon (CRS84), checked by the import's
  shape rules (`wrong_geometry_type`, `out_of_range`, `invalid_geometry`); a shape the import would
  repair with make_valid, or one with no area, is refused (`invalid_geometry`): a feature has no
  report to warn in, and the drawer redraws it. The properties its layer derives (`served`: the branch's name, coverage
  figures …) are ignored, so a feature read with GET can be written back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape as from_geojson

from geo.compose import sql_file
from geo.errors import Rejected
from geo.ingest.columns import match_columns
from geo.ingest.fields import REF_CODES, Lookups
from geo.ingest.problems import Problems, records
from geo.ingest.readers import Source
from geo.ingest.spec import SPECS, Spec
from geo.ingest.validate import Options, prepare

READ_ONLY = ("id", "status", "cancel_reason", "updated_at")
INVITED = ("invited_org_ids", "invited_orgs", "受邀组织", "邀请组织")  # an activity's, by any name
COORDINATES = ("lon", "lat")
MIN_AREA_DEG2 = 1e-10  # about 1 m²: a shape with less has no area
NO_FOLDER = Path("feature")  # a feature names no file: path fields are not writable here
REF_SQL = {
    "organisations": sql_file(__file__, "sql/ref_organisations.sql"),
    "service_points": sql_file(__file__, "sql/ref_service_points.sql"),
    "buildings": sql_file(__file__, "sql/ref_buildings.sql"),
    "members": sql_file(__file__, "sql/ref_members.sql"),
}
BY_ID_SQL = {
    "organisations": sql_file(__file__, "sql/code_of_organisation.sql"),
    "service_points": sql_file(__file__, "sql/code_of_service_point.sql"),
    "buildings": sql_file(__file__, "sql/code_of_building.sql"),
}
ORG_TYPES_SQL = "SELECT code FROM org_types"
ORG_PARENTS_SQL = sql_file(__file__, "sql/org_parents.sql")
# what the grids layer derives from other tables (its branch's name, coverage figures, leader)
GRID_SERVED = (
    "branch",
    "buildings",
    "buildings_pct",
    "coverage_class",
    "members",
    "members_pct",
    "leader_name",
)


@dataclass(frozen=True)
class Table:
    """A table written through the API: its import kind, the columns its references fill (field
    → column), the properties that may carry a served id (property → field), the column naming
    the organisation a row belongs to, the roles that write it, the prefix of codes the server
    makes up, and whether its rows are activities (announced as `activity.*`, cancelled rather
    than deleted once people signed up, organised by the writer's organisation by default), and
    the properties its layer derives from other tables (ignored when written)."""

    kind: str
    columns: dict[str, str]
    id_props: dict[str, str]
    owner: str
    writers: tuple[str, ...] = ("steward", "admin")
    prefix: str = "X"
    activities: bool = False
    served: tuple[str, ...] = ()

    @property
    def spec(self) -> Spec:
        """The import's description of the table."""
        return SPECS[self.kind]

    def column(self, name: str) -> str:
        """The table column a checked field is written to."""
        return self.columns.get(name, name)


TABLES: dict[str, Table] = {
    "activities": Table(
        "activities",
        {"organiser_code": "organiser_id", "service_point_code": "service_point_id"},
        {"organiser_id": "organiser_code", "service_point_id": "service_point_code"},
        "organiser_id",
        writers=("leader", "steward", "admin"),
        prefix="ACT",
        activities=True,
    ),
    "service_points": Table(
        "service-points", {"org_code": "org_id"}, {"org_id": "org_code"}, "org_id", prefix="SP"
    ),
    "organisations": Table(
        "organisations",
        {"parent_code": "parent_id", "building_code": "building_id"},
        {"parent_id": "parent_code", "building_id": "building_code"},
        "id",
        prefix="ORG",
    ),
    "grids": Table(  # 党建网格 (issue 14 §4), drawn on /coverage; the branch is the owner
        "grids",
        {"branch_code": "org_id", "leader_code": "leader_member_id"},
        {"org_id": "branch_code"},
        "org_id",
        writers=("planner", "steward", "admin"),
        prefix="GRID",
        served=GRID_SERVED,
    ),
}


@dataclass
class Draft:
    """A feature's row in the import's field names, before it is checked: the values (text or
    None), the property each came from (for error places), read-only values, served ids still to
    read as codes, and the problems found so far."""

    row: dict[str, Any] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)
    read_only: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, object]] = field(default_factory=list)
    invited_sent: str | None = None  # the property naming invited organisations (None: none)
    invited: Any = None  # its value (geo/live/invitations.py reads it as ids)
    shape: dict[str, Any] | None = None  # a shape's GeoJSON geometry (not a Point)

    def problem(self, where: list[str | int], code: str, message: str) -> None:
        """Note one problem at `where` (a place in the request body)."""
        self.problems.append({"loc": ["body", *where], "msg": message, "code": code})


@dataclass(frozen=True)
class Refs:
    """The rows a draft refers to: code → (id, lon, lat) per referenced table."""

    found: dict[str, dict[str, tuple[int, float | None, float | None]]]
    lookups: Lookups

    def id_of(self, table: str, code: object) -> int | None:
        """The id of the row `code` names in `table` (None when no code was given)."""
        if not isinstance(code, str):
            return None
        return self.found[table][code][0]


def _text(value: Any) -> str | None:
    """A JSON scalar as the text an import file would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def draft(table: Table, properties: dict[str, Any]) -> Draft:
    """The properties of a feature as a row of the import's fields (aliases matched)."""
    out = Draft()
    rest: dict[str, Any] = {}
    for name, value in properties.items():
        if name in READ_ONLY:
            out.read_only[name] = value
        elif name in table.served:
            continue
        elif table.activities and name.strip().lower() in INVITED:
            if out.invited_sent is not None:
                out.problem(["properties", name], "duplicate", f"{out.invited_sent} given twice")
            out.invited_sent, out.invited = name, value
        elif name in table.id_props and value is None:  # no reference (as GET serves it)
            out.row[table.id_props[name]] = None
            out.sent[table.id_props[name]] = name
        elif name in table.id_props and isinstance(value, int) and not isinstance(value, bool):
            out.ids[table.id_props[name]] = value
            out.sent[table.id_props[name]] = name
        else:
            rest[name] = value
    mapping = match_columns(table.spec, list(rest))
    for target, name in mapping.items():
        value = rest[name]
        if target in COORDINATES:
            out.problem(["properties", name], "unknown_property", "coordinates go in geometry")
        elif isinstance(value, dict | list):
            out.problem(["properties", name], "bad_value", f"{name} must be text or a number")
        else:
            out.row[target] = _text(value)
            out.sent[target] = name
    known = [f.name for f in table.spec.fields] + ([INVITED[0]] if table.activities else [])
    for name in rest.keys() - set(mapping.values()):
        accepted = ", ".join(known)
        out.problem(["properties", name], "unknown_property", f"no field {name!r} ({accepted})")
    return out


async def read_ids(conn: asyncpg.Connection, table: Table, d: Draft) -> None:
    """Served ids in the draft read as the codes of their rows (unknown ids are problems)."""
    for target, ref_id in d.ids.items():
        ref = table.spec.field(target).ref or ""
        code = await conn.fetchval(BY_ID_SQL[ref], ref_id) if -(2**63) <= ref_id < 2**63 else None
        if code is None:
            what = ref.rstrip("s").replace("_", " ")
            d.problem(
                ["properties", d.sent[target]],
                REF_CODES.get(target, "unknown_reference"),
                f"{d.sent[target]} {ref_id}: no such {what}",
            )
        elif target not in d.row:
            d.row[target] = str(code)


async def references(conn: asyncpg.Connection, table: Table, row: dict[str, Any]) -> Refs:
    """The rows the draft's references name (and the organisation tree for organisations)."""
    found: dict[str, dict[str, tuple[int, float | None, float | None]]] = {}
    lookups = Lookups()
    for f in table.spec.fields:
        if f.type != "ref" or f.ref not in REF_SQL:
            continue
        codes = [row[f.name]] if isinstance(row.get(f.name), str) else []
        rows = await conn.fetch(REF_SQL[f.ref], codes)
        found.setdefault(f.ref, {}).update({r["code"]: (r["id"], r["lon"], r["lat"]) for r in rows})
        lookups.codes.setdefault(f.ref, set()).update(found[f.ref])
    lookups.org_types = {r["code"] for r in await conn.fetch(ORG_TYPES_SQL)}
    if table.owner == "id":  # the organisation tree itself: a new parent must make no cycle
        lookups.org_parents = {r["code"]: r["parent"] for r in await conn.fetch(ORG_PARENTS_SQL)}
    return Refs(found, lookups)


def place_at_service_point(table: Table, row: dict[str, Any], refs: Refs) -> None:
    """An activity at a service point with no coordinates takes the service point's."""
    code = row.get("service_point_code")
    if row.get("lon") is not None or not isinstance(code, str):
        return
    hit = refs.found.get(table.spec.field("service_point_code").ref or "", {}).get(code)
    if hit is not None and hit[1] is not None:
        row["lon"], row["lat"] = _text(hit[1]), _text(hit[2])


def _place(d: Draft, column: str | None) -> list[str | int]:
    if column in (None, "lon/lat", "geometry") or column in COORDINATES:
        return ["geometry"]
    return ["properties", d.sent.get(str(column), str(column))]


def _shapes(table: Table, d: Draft) -> np.ndarray | None:
    """The feature's geometry for a table of shapes, as the one-row geometry column an import
    reads (None for a table of points, where a shape is a problem)."""
    if table.spec.geom == "point":
        if d.shape is not None:
            got = d.shape.get("type")
            d.problem(["geometry"], "wrong_geometry_type", f"expected a Point geometry, got {got}")
        return None
    geoms = np.full(1, None, dtype=object)
    if d.shape is not None:
        try:
            geoms[0] = from_geojson(d.shape)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            d.problem(["geometry"], "invalid_geometry", f"the geometry is malformed ({exc})")
    elif d.row.get("lon") is not None:  # a Point sent to a table of shapes
        geoms[0] = shapely.Point(float(d.row["lon"]), float(d.row["lat"]))
    return geoms


def _shape_problems(found: Problems, geom: Any) -> list[dict[str, object]]:
    """Shapes the import would repair with make_valid, and shapes with no area (corners on a
    line), refused here (`invalid_geometry`)."""
    out: list[dict[str, object]] = []
    for rec in records(found.warnings, np.arange(1, 2), 0):
        if rec["code"] == "repaired":
            msg = f"{rec['message']}: not repaired here, send a valid shape (draw it again)"
            out.append({"loc": ["body", "geometry"], "msg": msg, "code": "invalid_geometry"})
    if geom is not None and not out and shapely.area(geom) < MIN_AREA_DEG2:
        msg = "the shape has no area (its corners lie on a line)"
        out.append({"loc": ["body", "geometry"], "msg": msg, "code": "invalid_geometry"})
    return out


def check(table: Table, d: Draft, refs: Refs) -> dict[str, Any]:
    """The draft's row checked by the import's rules: typed values by field (with lon, lat, or
    `geom` for a table of shapes), or Rejected listing every problem with its place and code."""
    spec = table.spec
    points = spec.geom == "point"
    names = [f.name for f in spec.fields if f.type != "path"]
    names += list(COORDINATES) if points else []
    frame = pd.DataFrame([{n: d.row.get(n) for n in names}], dtype="string")
    geoms = _shapes(table, d)
    crs = None if points else "EPSG:4326"
    source = Source(frame, geoms, crs, "geojson")
    try:
        prepared = prepare(spec, source, Options(), refs.lookups, NO_FOLDER)
    except shapely.errors.GEOSException as exc:  # a shape GEOS cannot even look at
        problem: dict[str, object] = {"loc": ["body", "geometry"], "code": "invalid_geometry"}
        problem["msg"] = f"invalid geometry ({exc})"
        raise Rejected(f"the feature has a bad geometry: {exc}", [problem]) from None
    problems = list(d.problems)
    for rec in records(prepared.problems.errors, np.arange(1, 2), 0):
        where = _place(d, rec.get("column"))  # type: ignore[arg-type]
        problems.append({"loc": ["body", *where], "msg": rec["message"], "code": rec["code"]})
    values = prepared.frame.iloc[0].to_dict()
    problems += _shape_problems(prepared.problems, None if points else values.get("geom"))
    if problems:
        first = "; ".join(str(p["msg"]) for p in problems[:3])
        raise Rejected(f"the feature has {len(problems)} problem(s): {first}", problems)
    out = {k: _plain(v) for k, v in values.items() if k in names}
    if not points:
        out["geom"] = values.get("geom")
    return out


def _plain(value: Any) -> Any:
    """A pandas cell as a value the driver takes (NaN/NA/NaT as None, timestamps as datetimes)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value
