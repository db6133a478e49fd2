"""The sample district: deterministic generation, realistic structure, and loading into PostGIS."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import psycopg
import pytest
import rasterio
import shapely
from PIL import Image
from typer.testing import CliRunner

from api.cli import app
from geo.db import data_versions
from geo.samples import SampleSpec, generate
from geo.samples.area import BOUNDARY_FILE, Area
from geo.samples.load import load_samples, table_counts

TODAY = "2026-06-15"
SPEC = SampleSpec(seed=7, today=TODAY, panoramas=4)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generation with the default counts (seed 7)."""
    out = tmp_path_factory.mktemp("sample")
    generate(SPEC, out)
    return out


@pytest.fixture(scope="session")
def area() -> Area:
    return Area.load()


def _features(path: Path) -> list[dict]:
    return list(json.loads(path.read_text(encoding="utf-8"))["features"])


def _geoms(path: Path) -> np.ndarray:
    return np.asarray(
        [shapely.geometry.shape(f["geometry"]) for f in _features(path)], dtype=object
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_boundary_file_is_small_wgs84_district() -> None:
    assert BOUNDARY_FILE.stat().st_size < 200_000
    feats = _features(BOUNDARY_FILE)
    assert len(feats) == 1
    assert feats[0]["properties"] == {"code": "330102", "name": "上城区", "level": "district"}
    geom = shapely.geometry.shape(feats[0]["geometry"])
    assert geom.is_valid
    # WGS84, i.e. west and north of the GCJ-02 source outline (120.137109, 30.192838 …)
    minx, miny, _, _ = geom.bounds
    assert 120.13 < minx < 120.135 and 30.194 < miny < 30.197


def test_same_seed_same_bytes(sample_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    manifest = generate(SPEC, again)
    assert _files(again) == _files(sample_dir)
    assert (
        manifest["fingerprint"]
        == json.loads((sample_dir / "manifest.json").read_text())["fingerprint"]
    )


def test_other_seed_other_data(sample_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(SampleSpec(seed=8, today=TODAY, members=50, panoramas=0), other)
    assert (other / "roads.geojson").read_bytes() != (sample_dir / "roads.geojson").read_bytes()


def test_zero_activities_is_a_valid_request(tmp_path: Path) -> None:
    """`--activities 0` (allowed by the CLI) writes an empty activities file with its header."""
    out = tmp_path / "none"
    generate(
        SampleSpec(seed=8, today=TODAY, members=5, buildings=40, activities=0, panoramas=0), out
    )
    lines = (out / "activities.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].startswith("code,title,kind")


def test_counts_meet_minimums(sample_dir: Path) -> None:
    orgs = pd.read_csv(sample_dir / "organisations.csv", dtype=str, keep_default_na=False)
    assert len(orgs) >= 30
    assert set(orgs["type"]) == {"党委", "党总支", "党支部"}
    parent_type = dict(zip(orgs["code"], orgs["type"], strict=True))
    expected = {"党委": "", "党总支": "党委", "党支部": "党总支"}
    for t, p in zip(orgs["type"], orgs["parent_code"], strict=True):
        assert parent_type.get(p, "") == expected[t]
    members = pd.read_csv(sample_dir / "members.csv", dtype=str)
    assert len(members) == 3000 and members["external_id"].is_unique
    assert set(members["status"]) == {"正式", "预备", "流动"}
    assert set(members["branch_code"]) <= set(orgs.loc[orgs["type"] == "党支部", "code"])
    sps = pd.read_csv(sample_dir / "service_points.csv", dtype=str)
    assert len(sps) == 30
    assert set(sps["kind"]) == {"党群服务中心", "党群服务站", "党员活动室", "红色教育基地"}
    assert sps["opening_hours"].notna().all() and sps["phone"].notna().all()
    buildings = _features(sample_dir / "buildings.geojson")
    assert len(buildings) == 3000
    assert {b["properties"]["use"] for b in buildings} == {
        "住宅",
        "办公",
        "商业",
        "公共服务",
        "学校",
    }
    heights = np.array([b["properties"]["height_m"] for b in buildings])
    assert heights.min() >= 3 and heights.max() <= 120
    assert set(orgs["building_code"]) <= {b["properties"]["code"] for b in buildings}


def test_activities_span_ninety_days(sample_dir: Path) -> None:
    acts = pd.read_csv(sample_dir / "activities.csv", dtype=str, keep_default_na=False)
    assert len(acts) == 300
    assert set(acts["kind"]) == {"三会一课", "主题党日", "志愿服务", "学习"}
    starts = [datetime.fromisoformat(s) for s in acts["starts_at"]]
    ends = [datetime.fromisoformat(s) for s in acts["ends_at"]]
    assert all(
        s < e and s.utcoffset() == timedelta(hours=8) for s, e in zip(starts, ends, strict=True)
    )
    today = date.fromisoformat(TODAY)
    days = [(s.date() - today).days for s in starts]
    assert min(days) >= -90 and max(days) <= 90 and min(days) < -30 and max(days) > 30
    sps = set(pd.read_csv(sample_dir / "service_points.csv", dtype=str)["code"])
    at_sp = acts["service_point_code"] != ""
    assert set(acts.loc[at_sp, "service_point_code"]) <= sps and 0 < at_sp.sum() < len(acts)


def test_everything_inside_boundary(sample_dir: Path, area: Area) -> None:
    for name in ("organisations", "members", "service_points", "activities", "panoramas"):
        frame = pd.read_csv(sample_dir / f"{name}.csv")
        assert shapely.contains_xy(area.lonlat, frame["lon"], frame["lat"]).all(), name
    for name in ("buildings", "roads"):
        assert shapely.contains(area.lonlat, _geoms(sample_dir / f"{name}.geojson")).all(), name


def test_members_live_in_residential_buildings(sample_dir: Path) -> None:
    feats = _features(sample_dir / "buildings.geojson")
    homes = shapely.union_all(
        [shapely.geometry.shape(f["geometry"]) for f in feats if f["properties"]["use"] == "住宅"]
    )
    members = pd.read_csv(sample_dir / "members.csv")
    assert shapely.contains_xy(homes, members["lon"], members["lat"]).all()


def test_road_network_is_connected(sample_dir: Path) -> None:
    feats = _features(sample_dir / "roads.geojson")
    assert {f["properties"]["kind"] for f in feats} == {"主干路", "次干路", "支路", "步行道"}
    graph = nx.Graph()
    for f in feats:
        coords = f["geometry"]["coordinates"]
        graph.add_edge(tuple(coords[0]), tuple(coords[-1]))
    biggest = max(nx.connected_components(graph), key=len)
    assert len(biggest) >= 0.95 * graph.number_of_nodes()
    # intersections are shared end points: most nodes join three or four segments
    degrees = np.array([d for _, d in graph.degree()])
    assert (degrees >= 3).mean() > 0.6


def test_buildings_valid_apart_and_off_the_streets(sample_dir: Path) -> None:
    blds = _geoms(sample_dir / "buildings.geojson")
    assert shapely.is_valid(blds).all()
    tree = shapely.STRtree(blds)
    left, right = tree.query(blds, predicate="intersects")
    assert (left == right).all(), "buildings overlap"
    roads = _geoms(sample_dir / "roads.geojson")
    hits = np.unique(shapely.STRtree(roads).query(blds, predicate="intersects")[0])
    assert len(hits) <= 0.01 * len(blds)


def test_panoramas_are_equirectangular_jpegs(sample_dir: Path) -> None:
    rows = pd.read_csv(sample_dir / "panoramas.csv", dtype=str)
    assert len(rows) >= 4
    sps = pd.read_csv(sample_dir / "service_points.csv", dtype=str).set_index("code")
    assert (sps.loc[rows["service_point_code"], "kind"] == "党群服务中心").all()
    for image in rows["image"]:
        with Image.open(sample_dir / image) as img:
            assert img.format == "JPEG"
            assert img.width == 2 * img.height and img.width <= 4096
            pixels = np.asarray(img.convert("RGB"))
        red = (pixels[..., 0] > 150) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
        assert red.any(), "the red banner is missing"


def test_dem_covers_the_district(sample_dir: Path, area: Area) -> None:
    with rasterio.open(sample_dir / "dem.tif") as dem:
        assert dem.crs.to_epsg() == 4326
        b = dem.bounds
        minx, miny, maxx, maxy = area.lonlat.bounds
        assert b.left <= minx and b.bottom <= miny and b.right >= maxx and b.top >= maxy
        assert abs(dem.res[0] * 111_320 * np.cos(np.deg2rad(30.3)) - 30) < 5
        z = dem.read(1)
    assert (z != dem.nodata).all()
    assert 0 <= z.min() < 10 and 150 < z.max() < 400  # a river valley and real hills


def test_benchmark_scale_stays_valid(tmp_path: Path) -> None:
    spec = SampleSpec(seed=3, today=TODAY, members=20_000, buildings=30_000, organisations=400,
                      service_points=500, activities=50, panoramas=0)  # fmt: skip
    manifest = generate(spec, tmp_path)
    assert manifest["counts"]["buildings"] == 30_000
    blds = _geoms(tmp_path / "buildings.geojson")
    left, right = shapely.STRtree(blds).query(blds, predicate="intersects")
    assert (left == right).all()
    sps = pd.read_csv(tmp_path / "service_points.csv")
    assert len(sps) == 500 and sps["code"].is_unique


def test_cli_generate_and_bad_counts(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["samples", "generate", "--out", str(out), "--seed", "5", "--today", TODAY, "--members", "40",
            "--buildings", "200", "--organisations", "30", "--activities", "10", "--panoramas", "4"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "members.csv")) == 40
    bad = runner.invoke(app, ["samples", "generate", "--out", str(out), "--service-points", "3"])
    assert bad.exit_code == 2 and "service_points" in bad.output


def test_loaded_sample_matches_files(sample_url: str, sample_files: Path) -> None:
    manifest = json.loads((sample_files / "manifest.json").read_text())
    assert table_counts(sample_url) == manifest["counts"]
    with psycopg.connect(sample_url) as conn:
        untied = conn.execute(
            "SELECT count(*) FROM roads WHERE source IS NULL OR target IS NULL"
        ).fetchone()
        paths = [r[0] for r in conn.execute("SELECT image_path FROM panoramas").fetchall()]
        kinds = conn.execute("SELECT count(DISTINCT kind) FROM service_points").fetchone()
    assert untied == (0,) and kinds == (4,)
    assert paths and all(Path(p).is_file() for p in paths)


def test_second_load_is_skipped(sample_url: str, sample_files: Path, tmp_path: Path) -> None:
    before = data_versions(sample_url)
    result = load_samples(sample_url, sample_files, tmp_path, progress=False)
    assert result.skipped
    assert data_versions(sample_url) == before


def test_forced_reload_changes_nothing(clean_db: str, sample_files: Path, tmp_path: Path) -> None:
    first = load_samples(clean_db, sample_files, tmp_path, progress=False)
    assert not first.skipped and "road topology" in first.seconds
    snapshot = (
        "SELECT md5(string_agg(id::text || code || ST_AsEWKB(geom)::text, ',' ORDER BY id)) FROM {}"
    )
    tables = ("organisations", "buildings", "roads", "service_points", "activities")
    with psycopg.connect(clean_db) as conn:
        before = [conn.execute(snapshot.format(t)).fetchone() for t in tables]
    again = load_samples(clean_db, sample_files, tmp_path, force=True, progress=False)
    assert again.counts == first.counts
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert [conn.execute(snapshot.format(t)).fetchone() for t in tables] == before
        conn.execute("TRUNCATE districts, buildings, roads, organisations, members, service_points, "
                     "activities, panoramas, imports RESTART IDENTITY CASCADE")  # fmt: skip
