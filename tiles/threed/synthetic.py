"""Seeded synthetic building footprints for tests and the 3D Tiles benchmark (not sample data).

Buildings sit on a jittered grid (one per cell, so they never overlap) and mix rectangles,
L-shapes, courtyards (a polygon with a hole) and two-part MultiPolygons, all rotated at random.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import psycopg
import shapely

RECT = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
ELL = np.array([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1), (-1, -1)], dtype=float)
HOLE = np.array([(-0.5, -0.5), (-0.5, 0.5), (0.5, 0.5), (0.5, -0.5), (-0.5, -0.5)], dtype=float)
M_PER_DEG_LAT = 110_574.0


def _place(
    unit: npt.NDArray[np.float64],
    center: npt.NDArray[np.float64],
    size: npt.NDArray[np.float64],
    angle: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Scale, rotate and move a unit ring to lon/lat around each centre; shape (k, m, 2)."""
    xy = unit[None, :, :] * size[:, None, :]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = xy[..., 0] * cos - xy[..., 1] * sin
    y = xy[..., 0] * sin + xy[..., 1] * cos
    lat = center[:, 1:2] + y / M_PER_DEG_LAT
    lon = center[:, 0:1] + x / (M_PER_DEG_LAT * np.cos(np.radians(center[:, 1:2])))
    return np.stack((lon, lat), axis=-1)


def footprints(
    n: int, seed: int = 42, origin: tuple[float, float] = (116.39, 39.90), spacing: float = 50.0
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """`n` valid MultiPolygon footprints (EPSG:4326) and heights in metres."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    cell = np.arange(n)
    off = np.column_stack((cell % side, cell // side)) * spacing + rng.uniform(-5, 5, (n, 2))
    lat0 = origin[1]
    center = np.column_stack(
        (
            origin[0] + off[:, 0] / (M_PER_DEG_LAT * np.cos(np.radians(lat0))),
            lat0 + off[:, 1] / M_PER_DEG_LAT,
        )
    )
    size = rng.uniform(5, 18, (n, 2))
    angle = rng.uniform(0, np.pi, n)
    kind = rng.choice(4, size=n, p=[0.6, 0.3, 0.08, 0.02])
    kind[:2] = [2, 3][: min(n, 2)]  # always at least one courtyard and one two-part building
    geoms = np.empty(n, dtype=object)
    for k, unit in ((0, RECT), (1, ELL)):
        sel = kind == k
        geoms[sel] = shapely.polygons(_place(unit, center[sel], size[sel], angle[sel]))
    sel = kind == 2
    shells = shapely.linearrings(_place(RECT, center[sel], size[sel], angle[sel]))
    holes = np.asarray(shapely.linearrings(_place(HOLE, center[sel], size[sel], angle[sel])))
    geoms[sel] = shapely.polygons(shells, holes=holes[:, None])
    sel = np.nonzero(kind == 3)[0]
    half = size[sel] / 2.5
    shift = np.column_stack(
        (half[:, 0] * 1.4 / (M_PER_DEG_LAT * np.cos(np.radians(lat0))), 0 * sel)
    )
    a = np.asarray(shapely.polygons(_place(RECT, center[sel] - shift, half, 0 * angle[sel])))
    b = np.asarray(shapely.polygons(_place(RECT, center[sel] + shift, half, 0 * angle[sel])))
    geoms[sel] = [shapely.MultiPolygon([p, q]) for p, q in zip(a, b, strict=True)]
    single = np.array([g.geom_type == "Polygon" for g in geoms])
    geoms[single] = shapely.multipolygons(geoms[single][:, None])
    heights = np.round(rng.gamma(2.0, 9.0, n) + 3.0, 1)
    return geoms, np.clip(heights, 3.0, 400.0)


def insert_buildings(
    url: str, geoms: npt.NDArray[np.object_], heights: npt.NDArray[np.float64], prefix: str = "B"
) -> list[int]:
    """COPY the footprints into `buildings`; returns their ids in input order."""
    wkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
    buf = io.StringIO()
    for i, (g, h) in enumerate(zip(wkb, heights, strict=True)):
        use = ("住宅", "办公", "商业", "")[i % 4]
        buf.write(f"{prefix}{i:07d}\t楼{i}\t{use}\t{h}\t{g}\n")
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY buildings (code, name, use, height_m, geom) FROM STDIN"
        ) as copy:
            copy.write(buf.getvalue())
        rows = conn.execute(
            "SELECT id FROM buildings WHERE code LIKE %s ORDER BY code", (prefix + "%",)
        ).fetchall()
    return [int(r[0]) for r in rows]


def insert_party_orgs(url: str, building_ids: list[int], prefix: str = "O") -> None:
    """One 党支部 per given building, located on the building (one statement)."""
    codes = [f"{prefix}{i:05d}" for i in range(len(building_ids))]
    names = [f"第{i + 1}党支部" for i in range(len(building_ids))]
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, building_id, geom) "
            "SELECT o.code, o.name, '党支部', b.id, ST_PointOnSurface(b.geom) "
            "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS o(code, name, bid) "
            "JOIN buildings b ON b.id = o.bid",
            (codes, names, building_ids),
        )
