"""The ingest core against the real database: every format, CRS handling, idempotency, audit, CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from typer.testing import CliRunner

from api.cli import app
from geo import crs as crsmod
from geo.db import data_versions
from geo.errors import ImportRejected
from geo.ingest import import_file

ORGS = """code,name,type,parent_code,lon,lat,founded,contact
B1,第一党支部,党支部,Z1,120.151,30.251,2001-05-01,
B2,第二党支部,党支部,Z1,120.152,30.252,2002/6/1,
W1,某街道党委,党委,,120.16,30.26,1999年7月1日,0571-8888
Z1,社区党总支,党总支,W1,120.17,30.27,,
"""
MEMBERS = [
    ("M1", "张三", "B1", "正式", "2010-01-01", 120.151, 30.251),
    ("M2", "李四", "B2", "预备", "2011-02-03", 120.152, 30.252),
    ("M3", "王五", "B1", "流动", "2012-03-04", 120.153, 30.253),
]


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def fetch(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def orgs(clean_db: str, tmp_path: Path) -> str:
    """The database with a committee → general branch → two branches (children listed first)."""
    path = tmp_path / "orgs.csv"
    path.write_text(ORGS, "utf-8")
    result = import_file(clean_db, "organisations", path, progress=False)
    assert result.rows_written == 4
    return clean_db


def members_frame(headers: list[str] | None = None) -> pd.DataFrame:
    cols = ["external_id", "name", "branch_code", "status", "joined", "lon", "lat"]
    return pd.DataFrame(MEMBERS, columns=headers or cols)


def test_organisations_tree_parents_later_in_file(orgs: str):
    rows = fetch(
        orgs,
        "SELECT o.code, p.code, o.founded::text FROM organisations o "
        "LEFT JOIN organisations p ON p.id = o.parent_id ORDER BY o.code",
    )
    assert rows == [
        ("B1", "Z1", "2001-05-01"),
        ("B2", "Z1", "2002-06-01"),
        ("W1", None, "1999-07-01"),
        ("Z1", "W1", None),
    ]
    subtree = fetch(
        orgs,
        "SELECT count(*) FROM org_subtree((SELECT id FROM organisations WHERE code = 'W1'))",
    )
    assert subtree == [(4,)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_with_chinese_headers(orgs: str, tmp_path: Path, encoding: str):
    frame = members_frame(["编号", "姓名", "所在支部", "状态", "入党日期", "经度", "纬度"])
    path = tmp_path / "members.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    result = import_file(orgs, "members", path, progress=False)
    assert (result.rows_total, result.rows_inserted, result.rows_skipped) == (3, 3, 0)
    assert result.report["encoding"] == ("gb18030" if encoding.startswith("gb") else encoding)
    rows = fetch(
        orgs,
        "SELECT m.external_id, m.name, o.code, m.status, m.joined::text, ST_X(m.home), ST_Y(m.home) "
        "FROM members m JOIN organisations o ON o.id = m.branch_id ORDER BY 1",
    )
    assert rows == [tuple(r) for r in MEMBERS]


def test_xlsx_service_points(orgs: str, tmp_path: Path):
    frame = pd.DataFrame(
        {
            "编码": ["SP1", "SP2"],
            "名称": ["党群服务中心一", "红色基地"],
            "类型": ["党群服务中心", "红色教育基地"],
            "所属组织": ["W1", None],
            "地址": ["某路1号", "某路2号"],
            "开放时间": ["09:00-17:00", None],
            "容量": [120, None],
            "电话": ["0571-1", None],
            "lng": [120.15, 120.16],
            "lat": [30.25, 30.26],
        }
    )
    path = tmp_path / "sp.xlsx"
    frame.to_excel(path, index=False)
    result = import_file(orgs, "service-points", path, progress=False)
    assert result.rows_inserted == 2
    rows = fetch(
        orgs,
        "SELECT s.code, s.kind, o.code, s.capacity, ST_AsText(s.geom) FROM service_points s "
        "LEFT JOIN organisations o ON o.id = s.org_id ORDER BY 1",
    )
    assert rows == [
        ("SP1", "党群服务中心", "W1", 120, "POINT(120.15 30.25)"),
        ("SP2", "红色教育基地", None, None, "POINT(120.16 30.26)"),
    ]


def square(lon: float, lat: float, d: float = 0.0005) -> Polygon:
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


def test_geojson_buildings_with_repair(clean_db: str, tmp_path: Path):
    bowtie = Polygon([(120.1, 30.2), (120.101, 30.201), (120.101, 30.2), (120.1, 30.201)])
    gdf = gpd.GeoDataFrame(
        {
            "code": ["BLD1", "BLD2"],
            "name": ["一号楼", "二号楼"],
            "高度": [30.5, 12],
            "层数": [10, 4],
        },
        geometry=[square(120.15, 30.25), bowtie],
        crs="EPSG:4326",
    )
    path = tmp_path / "b.geojson"
    gdf.to_file(path, driver="GeoJSON")
    result = import_file(clean_db, "buildings", path, progress=False)
    assert result.rows_inserted == 2
    assert [(w["row"], w["code"]) for w in result.warnings] == [(2, "repaired")]
    rows = fetch(
        clean_db,
        "SELECT code, height_m, floors, GeometryType(geom), ST_IsValid(geom), ST_NumGeometries(geom) "
        "FROM buildings ORDER BY code",
    )
    assert rows == [
        ("BLD1", 30.5, 10, "MULTIPOLYGON", True, 1),
        ("BLD2", 12.0, 4, "MULTIPOLYGON", True, 2),
    ]


def test_gpkg_in_web_mercator_lands_in_place(clean_db: str, tmp_path: Path):
    wgs = square(120.15, 30.25)
    gdf = gpd.GeoDataFrame(
        {"code": ["B1"], "height_m": [20.0]}, geometry=[wgs], crs="EPSG:4326"
    ).to_crs("EPSG:3857")
    path = tmp_path / "b.gpkg"
    gdf.to_file(path, driver="GPKG")
    result = import_file(clean_db, "buildings", path, progress=False)
    assert result.report["crs"] == "EPSG:3857"
    ((x, y),) = fetch(
        clean_db, "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM buildings"
    )
    assert x == pytest.approx(wgs.centroid.x, abs=1e-7)
    assert y == pytest.approx(wgs.centroid.y, abs=1e-7)


def zip_shapefile(gdf: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    shp_dir = folder / name
    shp_dir.mkdir()
    gdf.to_file(shp_dir / f"{name}.shp")
    out = folder / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    return out


def test_zipped_shapefile_roads_utm_split_and_topology(clean_db: str, tmp_path: Path):
    a, b, c, d = (120.15, 30.25), (120.16, 30.25), (120.16, 30.26), (120.17, 30.26)
    gdf = gpd.GeoDataFrame(
        {"code": ["R1", "R2"], "name": ["文三路", "学院路"], "kind": ["primary", None]},
        geometry=[LineString([a, b]), MultiLineString([[b, c], [c, d]])],
        crs="EPSG:4326",
    ).to_crs("EPSG:32650")
    path = zip_shapefile(gdf, tmp_path, "roads")
    result = import_file(clean_db, "roads", path, progress=False)
    assert result.report["crs"] == "EPSG:32650"
    assert result.rows_inserted == 3
    assert result.report["topology"]["vertices"] == 4
    rows = fetch(
        clean_db,
        "SELECT code, name, kind, source, target, length_m, ST_Length(geom::geography), "
        "ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)) FROM roads ORDER BY code",
    )
    assert [r[:3] for r in rows] == [
        ("R1", "文三路", "primary"),
        ("R2-1", "学院路", "street"),
        ("R2-2", "学院路", "street"),
    ]
    # R1 ends where R2-1 starts, R2-1 ends where R2-2 starts
    assert rows[0][4] == rows[1][3] and rows[1][4] == rows[2][3]
    assert len({rows[0][3], rows[0][4], rows[1][4], rows[2][4]}) == 4
    for r in rows:
        assert r[5] == pytest.approx(r[6], rel=1e-9) and r[5] > 900
    assert rows[0][7] == pytest.approx(a[0], abs=1e-7) and rows[0][8] == pytest.approx(
        a[1], abs=1e-7
    )
    version = data_versions(clean_db)["roads"]
    again = import_file(clean_db, "roads", path, progress=False)
    assert (again.rows_unchanged, again.report["topology"]["edges_updated"]) == (3, 0)
    assert data_versions(clean_db)["roads"] == version


def test_point_geojson_service_points(orgs: str, tmp_path: Path):
    gdf = gpd.GeoDataFrame(
        {"code": ["SP9"], "name": ["服务站"], "kind": ["党群服务站"], "org_code": ["Z1"]},
        geometry=[Point(120.2, 30.3)],
        crs="EPSG:4326",
    )
    path = tmp_path / "sp.geojson"
    gdf.to_file(path, driver="GeoJSON")
    import_file(orgs, "service-points", path, progress=False)
    assert fetch(orgs, "SELECT ST_AsText(geom) FROM service_points") == [("POINT(120.2 30.3)",)]


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_gcj02_and_bd09_tables_convert_to_wgs84(orgs: str, tmp_path: Path, datum: str):
    lon, lat = np.array([120.151, 120.152]), np.array([30.251, 30.252])
    fwd = crsmod.wgs84_to_gcj02 if datum == "gcj02" else crsmod.wgs84_to_bd09
    x, y = fwd(lon, lat)
    frame = members_frame().iloc[:2].assign(lon=x, lat=y)
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)
    import_file(orgs, "members", path, crs=datum, progress=False)
    rows = fetch(orgs, "SELECT ST_X(home), ST_Y(home) FROM members ORDER BY external_id")
    for (gx, gy), ex, ey in zip(rows, lon, lat, strict=True):
        assert gx == pytest.approx(ex, abs=1e-8) and gy == pytest.approx(ey, abs=1e-8)


def test_projected_csv_with_x_y_columns(orgs: str, tmp_path: Path):
    tr = Transformer.from_crs(4326, 4549, always_xy=True)
    x, y = tr.transform(120.151, 30.251)
    path = tmp_path / "m.csv"
    pd.DataFrame(
        [{"id": "M1", "name": "张三", "branch": "B1", "status": "正式", "x": x, "y": y}]
    ).to_csv(path, index=False)
    import_file(orgs, "members", path, crs="EPSG:4549", progress=False)
    ((gx, gy),) = fetch(orgs, "SELECT ST_X(home), ST_Y(home) FROM members")
    assert gx == pytest.approx(120.151, abs=1e-7) and gy == pytest.approx(30.251, abs=1e-7)


def test_explicit_column_map(orgs: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    members_frame(
        ["工号", "name", "branch_code", "status", "joined", "东经度数", "北纬度数"]
    ).to_csv(path, index=False)
    with pytest.raises(ImportRejected, match="missing column"):
        import_file(orgs, "members", path, progress=False)
    result = import_file(
        orgs,
        "members",
        path,
        columns={"external_id": "工号", "lon": "东经度数", "lat": "北纬度数"},
        progress=False,
    )
    assert result.rows_inserted == 3


def test_rerun_changes_nothing_then_updates_one(orgs: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    members_frame().to_csv(path, index=False)
    first = import_file(orgs, "members", path, progress=False)
    assert (first.rows_inserted, first.rows_updated, first.rows_unchanged) == (3, 0, 0)
    before = data_versions(orgs)["members"]
    again = import_file(orgs, "members", path, progress=False)
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert again.rows_written == 0
    assert data_versions(orgs)["members"] == before  # nothing written: caches stay valid
    assert fetch(orgs, "SELECT max(id) FROM members") == [(3,)]
    frame = members_frame()
    frame.loc[1, "status"] = "正式"
    frame.to_csv(path, index=False)
    third = import_file(orgs, "members", path, progress=False)
    assert (third.rows_inserted, third.rows_updated, third.rows_unchanged) == (0, 1, 2)
    assert fetch(orgs, "SELECT status FROM members WHERE external_id = 'M2'") == [("正式",)]
    assert data_versions(orgs)["members"] > before
    audit = fetch(orgs, "SELECT kind, status, rows_total, rows_written FROM imports ORDER BY id")
    assert audit[-3:] == [
        ("members", "written", 3, 3),
        ("members", "written", 3, 0),
        ("members", "written", 3, 1),
    ]


def test_activities_times_and_panoramas(orgs: str, tmp_path: Path):
    import_file(orgs, "service-points", _sp_csv(tmp_path), progress=False)
    acts = tmp_path / "a.csv"
    acts.write_text(
        "code,title,kind,organiser_code,service_point_code,starts_at,ends_at,capacity,description,lon,lat\n"
        "A1,三会一课,三会一课,B1,SP1,2025-05-01T09:00:00+08:00,2025-05-01T11:00:00+08:00,50,,120.15,30.25\n"
        "A2,主题党日,主题党日,Z1,,2025-05-02 14:00,2025-05-02 16:30,,学习,120.16,30.26\n",
        "utf-8",
    )
    import_file(orgs, "activities", acts, progress=False)
    rows = fetch(
        orgs,
        "SELECT a.code, starts_at AT TIME ZONE 'UTC', ends_at - starts_at, sp.code FROM activities a "
        "LEFT JOIN service_points sp ON sp.id = a.service_point_id ORDER BY a.code",
    )
    assert str(rows[0][1]) == "2025-05-01 01:00:00" and rows[0][3] == "SP1"
    assert str(rows[1][1]) == "2025-05-02 06:00:00" and str(rows[1][2]) == "2:30:00"
    (tmp_path / "img").mkdir()
    Image.new("RGB", (400, 200), (200, 30, 30)).save(tmp_path / "img" / "p1.jpg")
    pano = tmp_path / "panoramas.csv"
    pano.write_text(
        "code,title,image,heading,service_point_code,captured_at,lon,lat\n"
        "P1,中心大厅,img/p1.jpg,370,SP1,2025-04-01T10:00:00+08:00,120.15,30.25\n",
        "utf-8",
    )
    import_file(orgs, "panoramas", pano, progress=False)
    ((path, w, h, heading),) = fetch(
        orgs, "SELECT image_path, width, height, heading FROM panoramas"
    )
    assert Path(path) == (tmp_path / "img" / "p1.jpg").resolve()
    assert (w, h, heading) == (400, 200, 10.0)


def _sp_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sp.csv"
    path.write_text(
        "code,name,kind,org_code,address,opening_hours,capacity,phone,lon,lat\n"
        "SP1,中心,党群服务中心,W1,,,100,,120.15,30.25\n",
        "utf-8",
    )
    return path


def test_districts_geojson(clean_db: str, tmp_path: Path):
    gdf = gpd.GeoDataFrame(
        {"adcode": ["330106"], "name": ["西湖区"]}, geometry=[square(120.0, 30.1, 0.1)], crs=4326
    )
    path = tmp_path / "d.geojson"
    gdf.to_file(path, driver="GeoJSON")
    import_file(clean_db, "districts", path, progress=False)
    assert fetch(clean_db, "SELECT code, name, level FROM districts") == [
        ("330106", "西湖区", "district")
    ]


def test_cli_exit_codes_and_report(orgs: str, tmp_path: Path):
    runner = CliRunner()
    good = tmp_path / "m.csv"
    members_frame().to_csv(good, index=False)
    res = runner.invoke(app, ["import", "members", str(good), "--no-progress"])
    assert res.exit_code == 0, res.output
    bad = tmp_path / "bad.csv"
    frame = members_frame().astype({"lon": object})
    frame.loc[2, "lon"] = "abc"
    frame.to_csv(bad, index=False)
    report = tmp_path / "report.json"
    res = runner.invoke(app, ["import", "members", str(bad), "--report", str(report)])
    assert res.exit_code == 1
    assert "row 3 (line 4)" in res.output and "non_numeric_coordinates" in res.output
    doc = json.loads(report.read_text("utf-8"))
    assert doc["status"] == "rejected" and doc["errors"][0]["row"] == 3
    assert doc["errors"][0]["line"] == 4 and "row_convention" in doc
    for args in (
        ["import", "spaceships", str(good)],
        ["import", "members", str(good), "--map", "nonsense"],
        ["import", "members", str(good), "--map", "planet=name"],
        ["import", "members", str(good), "--crs", "EPSG:999999"],
        ["import", "members", str(tmp_path / "missing.csv")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
    res = runner.invoke(app, ["import", "members", str(bad), "--skip-invalid"])
    assert res.exit_code == 0
    assert count(orgs, "members") == 3


def test_zipped_gbk_shapefile_without_cpg(clean_db: str, tmp_path: Path):
    gdf = gpd.GeoDataFrame(
        {"code": ["330106"], "name": ["西湖区"], "level": ["区县"]},
        geometry=[square(120.0, 30.1, 0.1)],
        crs=4326,
    )
    shp_dir = tmp_path / "d"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "d.shp", encoding="gbk")
    (shp_dir / "d.cpg").unlink(missing_ok=True)  # as many Chinese GIS exports: no code page file
    path = tmp_path / "d.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f"d/{f.name}")
    import_file(clean_db, "districts", path, progress=False)
    assert fetch(clean_db, "SELECT code, name, level FROM districts") == [
        ("330106", "西湖区", "区县")
    ]


SCHEMA_DEFS = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'members' UNION ALL "
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'members'::regclass ORDER BY 1, 2"
)


def test_bulk_path_rebuilds_indexes_and_keys_identically(
    orgs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from geo.ingest import writers

    monkeypatch.setattr(writers, "BULK_MIN", 1)
    before = fetch(orgs, SCHEMA_DEFS)
    path = tmp_path / "m.csv"
    members_frame().to_csv(path, index=False)
    result = import_file(orgs, "members", path, progress=False)
    assert result.report["bulk_load"] is True and result.rows_inserted == 3
    assert fetch(orgs, SCHEMA_DEFS) == before
    assert fetch(
        orgs, "SELECT count(*) FROM members WHERE home && ST_MakeEnvelope(120, 30, 121, 31, 4326)"
    ) == [(3,)]
    # a second bulk load with existing keys (one changed) and new ones
    frame = members_frame()
    frame.loc[0, "name"] = "张三丰"
    extra = frame.assign(external_id=frame["external_id"] + "b")
    pd.concat([frame, extra, extra.assign(external_id="X9")[:1]]).to_csv(path, index=False)
    second = import_file(orgs, "members", path, progress=False)
    assert second.report["bulk_load"] is True
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (4, 1, 2)
    assert fetch(orgs, "SELECT name FROM members WHERE external_id = 'M1'") == [("张三丰",)]
    assert fetch(orgs, SCHEMA_DEFS) == before


def test_bulk_path_falls_back_for_a_role_that_does_not_own_the_table(
    orgs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from geo.ingest import writers

    monkeypatch.setattr(writers, "BULK_MIN", 1)
    with psycopg.connect(orgs, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS djmap_importer")
        conn.execute("CREATE ROLE djmap_importer LOGIN PASSWORD 'importer-pw'")
        conn.execute(
            "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO djmap_importer"
        )
        conn.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO djmap_importer")
    host = orgs.split("@", 1)[1]  # the cluster asks every role for its password
    url = f"postgresql://djmap_importer:importer-pw@{host}"
    path = tmp_path / "m.csv"
    members_frame().to_csv(path, index=False)
    try:
        result = import_file(url, "members", path, progress=False)
        assert result.report["bulk_load"] is False and result.rows_inserted == 3
    finally:
        with psycopg.connect(orgs, autocommit=True) as conn:
            conn.execute("DROP OWNED BY djmap_importer")
            conn.execute("DROP ROLE djmap_importer")


def test_3d_polygons_are_stored_2d(clean_db: str, tmp_path: Path):
    poly = Polygon([(120.1, 30.2, 5), (120.101, 30.2, 5), (120.101, 30.201, 6), (120.1, 30.2, 5)])
    gdf = gpd.GeoDataFrame({"code": ["B3D"], "height_m": [9.0]}, geometry=[poly], crs=4326)
    path = tmp_path / "b3d.geojson"
    gdf.to_file(path, driver="GeoJSON")
    import_file(clean_db, "buildings", path, progress=False)
    assert fetch(clean_db, "SELECT ST_NDims(geom) FROM buildings") == [(2,)]
