"""Steering schemathesis towards real data, through its schema hooks.

Each generated value (random strings, numbers out of range, …) is kept one time in four and
replaced by a real one otherwise: layer and collection ids from the catalog, feature ids,
coordinates and bboxes over the sample district, RFC 3339 instants and intervals, activity
windows open now and both targets of /api/nearest, CQL2 filters over the queryables, and real
tiles over the district. (A second `anyOf` branch in the document
would not do: hypothesis-jsonschema folds an enum of strings into `type: string`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from hypothesis import strategies as st

# Filters over the sample layers' queryables (some name fields a collection lacks: 400, not 500).
FILTERS = [
    "kind = '党群服务中心'",
    "capacity > 50",
    "capacity BETWEEN 10 AND 100",
    "capacity IS NULL",
    "NOT (capacity < 5)",
    "name LIKE '%中心%'",
    "code IN ('SC-W01', 'SC-W02')",
    "id IN (1, 2, 3) OR id = 7",
    "org_id = 1 AND kind <> '党员活动室'",
    "type = '党支部'",
    "parent_id = 1",
    "floors >= 10 AND height_m < 30.5",
    "has_org = TRUE",
    "use = '住宅'",
    "starts_at > '2026-01-01T00:00:00Z'",
    "S_INTERSECTS(geometry, BBOX(120.13, 30.19, 120.30, 30.40))",
    "S_INTERSECTS(geometry, POLYGON((120.1 30.1, 120.3 30.1, 120.3 30.4, 120.1 30.1)))",
    "S_INTERSECTS(geometry, POINT(120.2 30.3))",
    "level = 'street'",
    "title LIKE '%学习%'",
]
NUM = r"-?\d{1,3}(\.\d{1,6})?"
LON = r"120\.(1[3-9]|2[0-9])\d{0,4}"
LAT = r"30\.(19|[23]\d)\d{0,4}"
BBOX = rf"^(({LON},{LAT},{LON},{LAT})|({NUM},{NUM},{NUM},{NUM})(,{NUM},{NUM})?)$"
DAY = r"202[5-7]-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
INSTANT = rf"{DAY}(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{{1,3}})?(Z|[+-]0[0-8]:00))?"
DATETIME = rf"^({INSTANT}|{INSTANT}/{INSTANT}|\.\./{INSTANT}|{INSTANT}/\.\.|\.\./\.\.)$"


@dataclass
class Facts:
    """What the database holds, for the values that reach real rows."""

    bbox: tuple[float, float, float, float]
    districts: list[str]
    fids: list[str]
    panoramas: list[int]
    activities: list[int]
    service_points: list[int]


def read_facts(url: str) -> Facts:
    """Ids and the district extent from the database the server uses."""
    with psycopg.connect(url) as conn:

        def ids(table: str) -> list[int]:
            rows = conn.execute(f"SELECT id FROM {table} ORDER BY id LIMIT 20").fetchall()
            return [int(r[0]) for r in rows]

        ext = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom)::geometry AS e FROM districts) s"
        ).fetchone()
        assert ext is not None and ext[0] is not None, "no district loaded"
        codes = [str(r[0]) for r in conn.execute("SELECT code FROM districts LIMIT 10")]
        return Facts(
            bbox=(float(ext[0]), float(ext[1]), float(ext[2]), float(ext[3])),
            districts=codes,
            fids=[str(i) for i in sorted(set(ids("service_points") + ids("activities")))],
            panoramas=ids("panoramas"),
            activities=ids("activities"),
            service_points=ids("service_points"),
        )


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator tile holding the point at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def district_tiles(facts: Facts) -> st.SearchStrategy[dict[str, int]]:
    """Tiles over the district at zoom 0..24 (z/x/y path parameters)."""
    w, s, e, n = facts.bbox

    def build(z: int, fx: float, fy: float) -> dict[str, int]:
        x, y = tile_of(w + (e - w) * fx, s + (n - s) * fy, z)
        return {"z": z, "x": x, "y": y}

    unit = st.floats(0, 1)
    return st.builds(build, st.integers(0, 24), unit, unit)


ABSENT = object()  # a field left out


def _coord(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi).map(lambda v: round(v, 6))


def _instant(days: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """RFC 3339 instants `days` from today (noon UTC): activity windows that hold real rows."""
    return days.map(lambda d: f"{date.today() + timedelta(days=d)}T12:00:00Z")


def real_values(
    facts: Facts, layers: list[str], collections: list[str]
) -> dict[str, st.SearchStrategy[Any]]:
    """Per parameter or body field name: values that reach real rows."""
    w, s, e, n = facts.bbox
    lon, lat = _coord(w, e), _coord(s, n)
    box = st.tuples(lon, lat, lon, lat)
    return {
        "layer": st.sampled_from(layers),
        "collection_id": st.sampled_from(collections),
        "metric": st.sampled_from(["members", "activities", "checkins"]),
        "target": st.sampled_from(["service_points", "activities"]),  # what /api/nearest ranks
        "from": _instant(st.integers(-30, 0)),  # a window open now: activities one may attend
        "to": _instant(st.integers(1, 60)),
        "fid": st.sampled_from(facts.fids),
        "panorama_id": st.sampled_from(facts.panoramas),
        "activity_id": st.sampled_from(facts.activities),
        "service_point_id": st.sampled_from(facts.service_points),
        "bbox": st.one_of(box.map(lambda b: ",".join(map(str, b))), st.from_regex(BBOX)),
        "bbox_list": box.map(list),
        "datetime": st.from_regex(DATETIME, fullmatch=True),
        "filter": st.sampled_from(FILTERS),
        "lon": lon,
        "lat": lat,
        "kind": st.sampled_from(
            ["党群服务中心", "党群服务站", "党员活动室", "红色教育基地", "主题党日"]
        ),
        "district": st.sampled_from([*facts.districts, ABSENT]),
        "meters": st.one_of(st.just(ABSENT), st.floats(1, 3000)),
        "minutes": st.one_of(st.just(ABSENT), st.floats(0.5, 30)),
        "propose": st.integers(0, 4),
        "speed": st.floats(30, 120),
        "candidates": st.one_of(
            st.sampled_from(["auto", "buildings", "grid"]),
            st.lists(st.tuples(lon, lat).map(list), min_size=1, max_size=8),
        ),
    }


def _mix(values: Any, real: dict[str, st.SearchStrategy[Any]], names: set[str]) -> Any:
    """A strategy: `values` with each named field kept (or left out) or given a real value."""
    if not isinstance(values, dict):
        return st.just(values)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name in names:
        key = "bbox_list" if name == "bbox" and isinstance(values.get(name), list) else name
        if key in real:
            kept, new = st.just(values.get(name, ABSENT)), real[key]
            # three in four draws take the real value
            fields[name] = st.integers(0, 3).flatmap(lambda i, k=kept, r=new: r if i else k)

    def merge(chosen: dict[str, Any]) -> dict[str, Any]:
        out = {**values, **chosen}
        return {k: v for k, v in out.items() if v is not ABSENT}

    return st.fixed_dictionaries(fields).map(merge) if fields else st.just(values)


def steer(hook: Any, facts: Facts, layers: list[str], collections: list[str]) -> None:
    """Register (with `hook`: a schema's `schema.hook`, or `schemathesis.hook` for the CLI) the
    hooks that mix real values into generated path parameters, queries and bodies, and real
    z/x/y tiles over the district into about half of the tile requests."""
    real = real_values(facts, layers, collections)
    tiles = district_tiles(facts)

    def declared(context: Any, location: str) -> set[str]:
        params = getattr(context.operation, location, None) or []
        return {p.name for p in params}

    @hook
    def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
        names = declared(context, "path_parameters")
        strategy = _mix(path_parameters, real, names)
        if isinstance(path_parameters, dict) and {"z", "x", "y"} <= names:
            tile = tiles.map(lambda t: {**path_parameters, **t})
            return st.one_of(strategy, tile.flatmap(lambda p: _mix(p, real, names)))
        return strategy

    @hook
    def flatmap_query(context: Any, query: Any) -> Any:
        return _mix(query, real, declared(context, "query"))

    @hook
    def flatmap_body(context: Any, body: Any) -> Any:
        if not isinstance(body, dict):
            return st.just(body)
        names = set(body) - {"kind"}  # an import's kind is another enum
        if context.operation.label == "POST /api/coverage":
            names |= {"bbox", "candidates", "district", "meters", "minutes", "propose"}
        return _mix(body, real, names)
