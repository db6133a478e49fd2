"""Sample water and green areas for the offline basemap (issue 11 §1), a step of
`djmap samples load`: a river crossing the district and a few parks, imported through the ingest
core (a GeoJSON file, import kind `landuse`) like a steward's file. Labelled（示例）; a rerun
writes nothing new (keyed by code)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, mapping

from geo.samples.grids import DISTRICT_SQL, TAG

RIVER_M = 160.0  # river width
PARK_SHARES = ((0.3, 0.7, 420.0), (0.65, 0.35, 520.0), (0.55, 0.75, 380.0))  # x, y share, radius


def landuse_features(conn: psycopg.Connection) -> list[dict[str, object]]:
    """A river and three parks inside the sample district, as GeoJSON features (WGS84)."""
    row = conn.execute(DISTRICT_SQL).fetchone()
    if row is None:
        return []
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    inv = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    area = shapely.transform(
        shapely.from_wkb(bytes(row[2])), lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1]))
    )
    x0, y0, x1, y1 = area.bounds
    w, h = x1 - x0, y1 - y0
    xs = np.linspace(x0 - 100, x1 + 100, 40)
    ys = y0 + h * (0.45 + 0.12 * np.sin((xs - x0) / w * 2 * np.pi * 1.5))
    shapes = [
        (
            "sample:landuse:river",
            f"示例河{TAG}",
            "水域",
            LineString(np.column_stack([xs, ys])).buffer(RIVER_M / 2),
        )
    ]
    for i, (sx, sy, r) in enumerate(PARK_SHARES, start=1):
        park = Point(x0 + sx * w, y0 + sy * h).buffer(r, quad_segs=12)
        shapes.append((f"sample:landuse:park{i}", f"第{i}公园{TAG}", "绿地", park))
    out: list[dict[str, object]] = []
    for code, name, kind, shape in shapes:
        part = shapely.make_valid(area.intersection(shape))
        if part.is_empty:
            continue
        wgs = shapely.transform(part, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))
        props = {"编码": code, "名称": name, "用地类型": kind}
        out.append({"type": "Feature", "geometry": mapping(wgs), "properties": props})
    return out


def add_landuse_sample(url: str) -> int:
    """Import the sample water and green areas; the number of areas."""
    from geo.ingest import import_file

    with psycopg.connect(url) as conn:
        features = landuse_features(conn)
    if not features:
        return 0
    with tempfile.TemporaryDirectory(prefix="djmap-landuse-") as tmp:
        path = Path(tmp) / "landuse.geojson"
        doc = {"type": "FeatureCollection", "features": features}
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        import_file(url, "landuse", path, actor="djmap samples load", progress=False)
    return len(features)
