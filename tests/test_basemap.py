"""The offline basemap's data (issue 11 §1): land use areas imported with the kind `landuse`
(row-numbered report, Chinese spellings of the kinds, a rerun writes nothing), and the new
layers (landuse, labels) decode with mapbox_vector_tile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import api_client, two_subtrees

from geo.errors import ImportRejected
from geo.ingest import import_file

KEY = "basemap-key-" + "b" * 32
TMS = morecantile.tms.get("WebMercatorQuad")
LON, LAT = 116.30, 39.90  # tree A of two_subtrees
D = 0.004


def square(x: float, y: float, d: float = D) -> dict[str, Any]:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def write(tmp: Path, features: list[dict[str, Any]]) -> Path:
    path = tmp / "landuse.geojson"
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


GOOD = [
    feature({"编码": "W1", "名称": "西湖", "用地类型": "水域"}, square(LON, LAT)),
    feature({"编码": "G1", "名称": "中山公园", "用地类型": "公园"}, square(LON + 0.005, LAT)),
    feature({"编码": "F1", "名称": "Wood", "用地类型": "forest"}, square(LON, LAT + 0.005)),
]


@pytest.fixture
def empty(clean_db: str) -> str:
    """clean_db with the land use areas emptied too (conftest empties the tables of 0001)."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("TRUNCATE landuse RESTART IDENTITY")
    return clean_db


@pytest.fixture
def loaded(empty: str, tmp_path: Path) -> str:
    clean_db = empty
    two_subtrees(clean_db)
    with psycopg.connect(clean_db) as conn:  # a 街道 and a named road for the labels
        conn.execute(
            "INSERT INTO districts (code, name, level, geom) VALUES ('S1', '湖滨街道', '街道', "
            "ST_Multi(ST_MakeEnvelope(116.295, 39.895, 116.315, 39.915, 4326)))"
        )
        conn.execute(
            "INSERT INTO roads (code, name, kind, geom) VALUES ('R1', '解放路', '主干路', "
            "ST_SetSRID(ST_MakeLine(ST_Point(116.296, 39.903), ST_Point(116.314, 39.903)), 4326))"
        )
    result = import_file(clean_db, "landuse", write(tmp_path, GOOD), progress=False)
    assert result.rows_written == 3 and not result.errors
    return clean_db


@pytest.fixture
def client(loaded: str) -> Iterator[TestClient]:
    yield from api_client(loaded, KEY)


def test_landuse_import_reports_bad_rows_by_number(empty: str, tmp_path: Path) -> None:
    clean_db = empty
    bad = [
        feature({"编码": "B1", "用地类型": "水域"}, square(LON, LAT)),  # good
        feature({"编码": "B2", "用地类型": "火山"}, square(LON, LAT)),  # unknown kind
        feature({"编码": "B3", "用地类型": "绿地"}, {"type": "Point", "coordinates": [LON, LAT]}),
        feature({"用地类型": "绿地"}, square(LON, LAT)),  # no code
    ]
    with pytest.raises(ImportRejected) as info:
        import_file(clean_db, "landuse", write(tmp_path, bad), progress=False)
    report = info.value.report
    rows = {e["row"] for e in report["errors"]}
    assert rows == {2, 3, 4}, report["errors"]
    assert report["rows_bad"] == 3
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM landuse").fetchone() == (0,)


def test_landuse_import_stores_kinds_and_a_rerun_writes_nothing(
    loaded: str, tmp_path: Path
) -> None:
    with psycopg.connect(loaded) as conn:
        rows = conn.execute(
            "SELECT code, name, kind, ST_GeometryType(geom) FROM landuse ORDER BY code"
        ).fetchall()
    assert rows == [
        ("F1", "Wood", "forest", "ST_MultiPolygon"),
        ("G1", "中山公园", "green", "ST_MultiPolygon"),
        ("W1", "西湖", "water", "ST_MultiPolygon"),
    ]
    again = import_file(loaded, "landuse", write(tmp_path, GOOD), progress=False)
    assert again.rows_written == 0


def _decode(client: TestClient, layer: str, z: int) -> list[dict[str, Any]]:
    t = TMS.tile(LON + 0.005, LAT + 0.005, z)
    r = client.get(f"/api/tiles/{layer}/{z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200, r.text
    decoded = mapbox_vector_tile.decode(r.content)
    return list(decoded[layer]["features"]) if layer in decoded else []


def test_the_landuse_layer_decodes(client: TestClient) -> None:
    feats = _decode(client, "landuse", 14)
    kinds = {f["properties"]["name"]: f["properties"]["kind"] for f in feats}
    assert kinds == {"西湖": "water", "中山公园": "green", "Wood": "forest"}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in feats)


def test_the_labels_layer_decodes_with_ranks(client: TestClient) -> None:
    feats = _decode(client, "labels", 12)
    by_name = {f["properties"]["name"]: f["properties"] for f in feats}
    assert by_name["湖滨街道"]["kind"] == "street"
    assert by_name["解放路"]["kind"] == "road" and by_name["解放路"]["rank"] == 30
    assert all(f["geometry"]["type"] == "Point" for f in feats)
    kinds = {p["kind"] for p in by_name.values()}
    assert {"street", "road", "organisation", "service_point"} <= kinds, kinds
    assert len({f["id"] for f in feats}) == len(feats)  # ids unique across the parts
