"""The accessibility surface (issue 14 §3): walking minutes from every H3 cell of an area to the
nearest and to the third nearest service point, on the road network (geo/planning/walk_graph.py,
many-to-many with pandana). Times, not people: the surface is public. The built surface (the live
service points, every district) is the `accessibility` layer, a derived build
(tiles/accessibility_build.py); a scenario's is computed on demand for a bbox.

Member-weighted figures (the share of the caller's members within N minutes) are sums of whole
privacy atoms (geo/privacy), published as multiples of 10 and only at 10 or more.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import psycopg
import shapely
from shapely.geometry import box as shapely_box
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geo.analysis.demand import expanded_bounds
from geo.compose import sql_file
from geo.errors import InvalidInput, TooLarge
from geo.planning import walk_graph
from geo.planning.scenario_changes import BASELINE, Changes, fetch_sites
from geo.privacy import rounded
from geo.privacy.threshold import K as PRIVACY_K
from geo.vocab import WALK_M_PER_MIN

RES = (9, 10)
DEFAULT_RES = 9
NEAREST = 3  # the second figure: minutes to the third nearest service point
LIMIT_MIN = 30.0  # searched this far; farther is NULL ("more than 30 minutes")
MAX_CELLS_BUILD = 400_000
MAX_CELLS_ASKED = 60_000
BANDS_MIN = (5, 10, 15)  # member-weighted shares within these minutes
AREA_SQL = sql_file(__file__, "sql/accessibility_area.sql")
TOKEN_SQL = sql_file(__file__, "sql/accessibility_token.sql")
COPY_SQL = "COPY accessibility_cells (cell, res, token, t1_min, t3_min, geom) FROM STDIN"
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Surface:
    """Cells and their minutes (NaN: none within LIMIT_MIN, or off the network)."""

    res: int
    cells: list[str]
    t1: np.ndarray
    t3: np.ndarray


def cells_of(area: BaseGeometry, res: int, cap: int) -> list[str]:
    """The H3 cells whose centres lie in `area`, sorted (TooLarge beyond `cap`)."""
    if area.is_empty or area.area == 0:  # no district and no roads yet: nothing to cover
        return []
    x0, y0, x1, y1 = area.bounds
    guess = abs(x1 - x0) * abs(y1 - y0) * 1.2e4 / h3.average_hexagon_area(res, "km^2")
    if guess > cap * 1.5:
        raise TooLarge(f"about {guess:,.0f} cells at resolution {res}; at most {cap:,} per run")
    cells = sorted(h3.geo_to_cells(mapping(area), res))
    if len(cells) > cap:
        raise TooLarge(f"{len(cells):,} cells at resolution {res}; at most {cap:,} per run")
    return cells


def surface(conn: psycopg.Connection, area: BaseGeometry, res: int = DEFAULT_RES,
            changes: Changes | None = None, cap: int = MAX_CELLS_ASKED) -> Surface:  # fmt: skip
    """Minutes to the nearest and third nearest service point of every cell of `area` (the live
    points, or those of a scenario's `changes`)."""
    if res not in RES:
        raise InvalidInput(f"res must be one of {RES}")
    cells = cells_of(area, res, cap)
    if not cells:
        return Surface(res, [], np.empty(0), np.empty(0))
    limit_m = LIMIT_MIN * WALK_M_PER_MIN
    reach = expanded_bounds(tuple(area.bounds), limit_m)  # type: ignore[arg-type]
    graph = walk_graph.load(conn, reach)
    sites = fetch_sites(conn, changes or BASELINE, reach)
    s_xy = graph.project(np.array([r[3] for r in sites]), np.array([r[4] for r in sites]))
    lat, lon = np.array([h3.cell_to_latlng(c) for c in cells]).T
    metres = walk_graph.nearest_k(graph, s_xy, graph.project(lon, lat), NEAREST, limit_m)
    minutes = np.where(np.isfinite(metres), metres / WALK_M_PER_MIN, np.nan)
    return Surface(res, cells, minutes[:, 0], minutes[:, NEAREST - 1])


def _minutes(v: float) -> float | None:
    return None if np.isnan(v) else round(float(v), 2)


def features(s: Surface) -> list[dict[str, Any]]:
    """The cells as GeoJSON features (t1_min, t3_min; null beyond LIMIT_MIN)."""
    out = []
    for cell, t1, t3 in zip(s.cells, s.t1.tolist(), s.t3.tolist(), strict=True):
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        out.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"cell": cell, "t1_min": _minutes(t1), "t3_min": _minutes(t3)},
        })  # fmt: skip
    return out


def member_shares(
    s: Surface, lon: np.ndarray, lat: np.ndarray, members: np.ndarray
) -> dict[str, Any]:
    """Of the members (privacy atoms spread over places: lon, lat, members), how many live in a
    cell of the surface and the share within each band: sums of whole atoms, multiples of 10."""
    index = {c: i for i, c in enumerate(s.cells)}
    where = np.array(
        [index.get(h3.latlng_to_cell(y, x, s.res), -1) for x, y in zip(lon, lat, strict=True)]
    )
    inside = where >= 0
    total = rounded(float(members[inside].sum()))
    t1 = np.where(inside, s.t1[np.where(inside, where, 0)], np.nan)
    shares: dict[str, float | None] = {}
    for band in BANDS_MIN:
        within = rounded(float(members[inside & (t1 <= band)].sum()))
        shares[str(band)] = round(100.0 * within / total, 1) if total >= PRIVACY_K else None
    return {"members": total if total >= PRIVACY_K else None, "share_within_pct": shares}


def build_area(conn: psycopg.Connection) -> BaseGeometry:
    """The area the built surface covers (every district, else the roads' extent)."""
    row = conn.execute(AREA_SQL).fetchone()
    if row is None or row[0] is None:
        return shapely_box(0, 0, 0, 0)
    return shapely.from_wkb(bytes(row[0]))


def _rows(s: Surface, token: str) -> bytes:
    buf = io.StringIO()
    for cell, t1, t3 in zip(s.cells, s.t1.tolist(), s.t3.tolist(), strict=True):
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
        wkt = ", ".join(f"{x:.7f} {y:.7f}" for x, y in [*ring, ring[0]])
        a, b = ("\\N" if np.isnan(v) else f"{v:.3f}" for v in (t1, t3))
        buf.write(f"{cell}\t{s.res}\t{token}\t{a}\t{b}\tSRID=4326;POLYGON(({wkt}))\n")
    return buf.getvalue().encode()


def rebuild(conn: psycopg.Connection, token: str, res: int = DEFAULT_RES) -> int:
    """Replace the stored surface with one of the current data (one transaction); its cells."""
    s = surface(conn, build_area(conn), res, None, MAX_CELLS_BUILD)
    conn.execute("DELETE FROM accessibility_cells")
    with conn.cursor().copy(COPY_SQL) as copy:
        copy.write(_rows(s, token))
    return len(s.cells)


def built(conn: psycopg.Connection) -> tuple[str, float] | None:
    """The stored build's token and time, if any."""
    row = conn.execute(TOKEN_SQL).fetchone()
    return None if row is None else (str(row[0]), float(row[1]))


def stamp() -> float:
    """Now (unix time), for builds."""
    return time.time()
