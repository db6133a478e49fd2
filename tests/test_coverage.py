"""POST /api/coverage (straight): equals an independent geopandas computation; privacy; proposals."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import atom_members, atoms_published
from pyproj import Geod
from shapely.geometry import box

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
AREA = (116.35, 39.87, 116.45, 39.93)
R = 800.0
UTM = "EPSG:32650"


def _far_from_boundaries(lon, lat, sites, margin=2.0):
    """True where no site's circle boundary is within margin metres (keeps the reference unambiguous)."""
    ok = np.ones(len(lon), dtype=bool)
    for slon, slat in sites:
        d = GEOD.inv(lon, lat, np.full(len(lon), slon), np.full(len(lon), slat))[2]
        ok &= np.abs(np.asarray(d) - R) > margin
    return ok


@pytest.fixture
def data(clean_db: str) -> dict[str, object]:
    rng = np.random.default_rng(2024)
    sites = np.column_stack([rng.uniform(116.36, 116.44, 6), rng.uniform(39.88, 39.92, 6)])
    lon = rng.uniform(AREA[0] - 0.02, AREA[2] + 0.02, 4000)
    lat = rng.uniform(AREA[1] - 0.01, AREA[3] + 0.01, 4000)
    keep = _far_from_boundaries(lon, lat, sites)
    lon, lat = lon[keep], lat[keep]
    # a lonely uncovered group of 3 homes far from everything: must never show as a cell
    lonely = np.array([[116.4495, 39.8705], [116.4496, 39.8706], [116.4497, 39.8704]])
    lon, lat = np.concatenate([lon, lonely[:, 0]]), np.concatenate([lat, lonely[:, 1]])
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO districts (code, name, geom) VALUES ('D1', '示范区', "
            "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
            AREA,
        )
        branch = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('b', '支部', '党支部', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id"
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (external_id, name, branch_id, status, home) "
                "VALUES (%s, 'm', %s, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [
                    (f"m{i}", branch, float(x), float(y))
                    for i, (x, y) in enumerate(zip(lon, lat, strict=True))
                ],
            )
            cur.executemany(
                "INSERT INTO service_points (code, name, kind, geom) VALUES "
                "(%s, %s, '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [(f"s{i}", f"站{i}", float(x), float(y)) for i, (x, y) in enumerate(sites)],
            )
            bl = np.column_stack(
                [rng.uniform(116.352, 116.448, 300), rng.uniform(39.872, 39.928, 300)]
            )
            bkeep = _far_from_boundaries(bl[:, 0] + 0.0001, bl[:, 1] + 0.0001, sites, margin=5.0)
            cur.executemany(
                "INSERT INTO buildings (code, use, height_m, floors, geom) VALUES "
                "(%s, %s, %s, %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
                [
                    (
                        f"b{i}",
                        "住宅" if i % 3 else "办公",
                        3.0 * (1 + i % 20),
                        1 + i % 20,
                        x,
                        y,
                        x + 0.0002,
                        y + 0.0002,
                    )
                    for i, (x, y) in enumerate(bl)
                    if bkeep[i]
                ],
            )
    return {"url": clean_db, "sites": sites, "lon": lon, "lat": lat}


def _client(url: str, principal: Principal) -> TestClient:
    app = create_app(Settings(db=DatabaseSettings(database_url=url)))
    app.dependency_overrides[get_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def planner(data) -> Iterator[TestClient]:
    with _client(data["url"], Principal(role="planner", username="p")) as c:
        yield c


def _covered_flags(data) -> np.ndarray:
    """Each member's own covered flag by geopandas: UTM buffers and a spatial join."""
    homes = gpd.GeoDataFrame(geometry=gpd.points_from_xy(data["lon"], data["lat"]), crs=4326)
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(data["sites"][:, 0], data["sites"][:, 1]), crs=4326
    )
    circles = gpd.GeoDataFrame(geometry=sites.to_crs(UTM).buffer(R, quad_segs=256))
    joined = gpd.sjoin(homes.to_crs(UTM), circles, predicate="within", how="inner")
    flags = np.zeros(len(homes), dtype=bool)
    flags[joined.index.unique()] = True
    return flags


def _in_area(data) -> np.ndarray:
    lon, lat = data["lon"], data["lat"]
    return (lon >= AREA[0]) & (lon <= AREA[2]) & (lat >= AREA[1]) & (lat <= AREA[3])


def _reference_members(data) -> tuple[int, int, int]:
    """(total, covered, rounded) members of the district as coverage publishes them (whole
    privacy atoms anchored in it, see tests/privacy.atoms_published), covered by geopandas."""
    return atoms_published(data["lon"], data["lat"], _covered_flags(data), AREA)


def test_members_coverage_equals_geopandas(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "weight": "members"})
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    total, covered, rounded = _reference_members(data)
    assert (s["count_total"], s["count_covered"]) == (total, covered)
    assert s["suppressed_cells"] == rounded
    exact = _covered_flags(data)[_in_area(data)]  # the truth the rounding may shift a little
    assert abs(total - exact.size) < 100 and abs(covered - exact.sum()) <= 9 * rounded
    assert s["weight_covered"] == covered and s["uncovered_weight"] == total - covered
    assert s["coverage_pct_weight"] == pytest.approx(100 * covered / total, abs=0.01)
    assert s["service_points"] == 6


def test_minutes_are_speed_times_minutes(planner: TestClient, data) -> None:
    by_m = planner.post("/api/coverage", json={"meters": R, "district": "D1"}).json()["summary"]
    by_min = planner.post(
        "/api/coverage", json={"minutes": 10, "speed": 80, "district": "D1"}
    ).json()["summary"]
    assert by_m == by_min


def test_population_weight_equals_geopandas(planner: TestClient, data, clean_db) -> None:
    body = planner.post(
        "/api/coverage", json={"meters": R, "bbox": list(AREA), "weight": "population"}
    ).json()
    with psycopg.connect(clean_db) as conn:
        b = gpd.read_postgis("SELECT code, use, floors, geom FROM buildings", conn, geom_col="geom")
    b = b[b.intersects(box(*AREA))]
    pts = b.representative_point()
    area_m2 = b.geometry.to_crs(UTM).area
    weight = np.where(b["use"] == "住宅", area_m2 * b["floors"] / 35.0, 0.0)
    circles = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(gpd.points_from_xy(*data["sites"].T), crs=4326)
        .to_crs(UTM)
        .buffer(R, quad_segs=256)
    )
    inside = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts.to_crs(UTM)), circles, predicate="within"
    ).index.unique()
    covered = weight[b.index.isin(inside)].sum()
    s = body["summary"]
    assert s["count_total"] == len(b) and s["count_covered"] == len(inside)
    assert s["weight_total"] == pytest.approx(weight.sum(), rel=2e-3)
    assert s["weight_covered"] == pytest.approx(covered, rel=2e-3)
    buildings = planner.post(
        "/api/coverage", json={"meters": R, "bbox": list(AREA), "weight": "buildings"}
    ).json()
    assert buildings["summary"]["weight_covered"] == len(inside)


def test_cells_obey_the_threshold_and_no_member_point_leaks(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3})
    body = r.json()
    feats = body["uncovered_cells"]["features"]
    assert feats and all(f["properties"]["count"] >= 10 for f in feats)
    assert sum(f["properties"]["count"] for f in feats) <= body["summary"]["uncovered_count"]
    assert body["summary"]["suppressed_cells"] >= 1  # the lonely three
    assert not member_points_in(body, data["lon"], data["lat"])


def _pairs(node) -> Iterator[tuple[float, float]]:
    """Every [number, number] pair and every {lon, lat} object anywhere in a JSON document."""
    if isinstance(node, dict):
        if isinstance(node.get("lon"), float) and isinstance(node.get("lat"), float):
            yield node["lon"], node["lat"]
        for v in node.values():
            yield from _pairs(v)
    elif isinstance(node, list):
        if len(node) == 2 and all(isinstance(v, float) for v in node):
            yield node[0], node[1]
        else:
            for v in node:
                yield from _pairs(v)


def member_points_in(body, lon, lat, tol_deg: float = 2e-6) -> list[tuple[float, float]]:
    """Coordinates in a response that sit on a member's home (within about 20 cm)."""
    from scipy.spatial import cKDTree

    pairs = list(_pairs(body))
    if not pairs:
        return []
    d, _ = cKDTree(np.column_stack([lon, lat])).query(np.array(pairs), k=1)
    return [p for p, dist in zip(pairs, d, strict=True) if dist < tol_deg]


def _covered_by(lon, lat, slon, slat) -> np.ndarray:
    return np.asarray(GEOD.inv(lon, lat, np.full(len(lon), slon), np.full(len(lon), slat))[2]) <= R


def test_proposals_gain_what_they_claim_in_order(planner: TestClient, data) -> None:
    body = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3}).json()
    proposed = body["proposed"]
    assert [p["rank"] for p in proposed] == [1, 2, 3]
    gains = [p["gain_weight"] for p in proposed]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    # the members the run counts: whole privacy atoms anchored in the district
    inside = np.array([a is not None for a in atom_members(data["lon"], data["lat"], AREA)])
    lon, lat = data["lon"][inside], data["lat"][inside]
    covered = np.zeros(len(lon), dtype=bool)
    for s in data["sites"]:
        covered |= _covered_by(lon, lat, *s)
    for p in proposed:
        assert p["source"] == "building"
        new = _covered_by(lon, lat, p["lon"], p["lat"]) & ~covered
        assert p["gain_weight"] == new.sum()
        covered |= new
    # after: the published covered share (atoms rounded to their majority) plus the exact gains
    s = body["summary"]
    after = 100 * (s["count_covered"] + sum(gains)) / s["count_total"]
    assert proposed[-1]["coverage_pct_weight_after"] == pytest.approx(after, abs=0.01)
    assert abs(after - 100 * covered.mean()) <= 100 * 9 * s["suppressed_cells"] / len(lon)


def test_same_inputs_same_result(planner: TestClient, data) -> None:
    req = {"meters": R, "district": "D1", "propose": 2, "candidates": "grid"}
    a = planner.post("/api/coverage", json=req).json()
    b = planner.post("/api/coverage", json=req).json()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert all(p["source"] == "grid" for p in a["proposed"])


def test_given_candidates(planner: TestClient, data) -> None:
    far = [116.449, 39.8705]  # next to the lonely three
    body = planner.post(
        "/api/coverage", json={"meters": R, "district": "D1", "propose": 1, "candidates": [far]}
    ).json()
    assert body["proposed"][0]["source"] == "given"
    assert body["proposed"][0]["gain_weight"] >= 3 or body["proposed"][0]["gain_weight"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"meters": 800, "minutes": 10}, 400),
        ({"meters": -1}, 400),
        ({"meters": 50000}, 400),
        ({"mode": "drive"}, 400),
        ({"weight": "votes"}, 400),
        ({"propose": 51}, 400),
        ({"bbox": [116.5, 39.9, 116.4, 40.0]}, 400),
        ({"bbox": [1, 2, 3]}, 400),
        ({"district": "D1", "bbox": list(AREA)}, 400),
        ({"candidates": "everywhere"}, 400),
        ({"candidates": [[200, 10]]}, 400),
        ({"h3_res": 20}, 400),
        ({"district": "NOPE"}, 404),
    ],
)
def test_bad_requests(planner: TestClient, data, body, status) -> None:
    r = planner.post("/api/coverage", json=body)
    assert r.status_code == status, r.text


def test_member_weight_needs_a_planner(data) -> None:
    with _client(data["url"], Principal()) as c:
        assert c.post("/api/coverage", json={"weight": "members"}).status_code == 401
        assert (
            c.post("/api/coverage", json={"weight": "buildings", "district": "D1"}).status_code
            == 200
        )
    with _client(data["url"], Principal(role="member", member_id=1)) as c:
        assert c.post("/api/coverage", json={"weight": "members"}).status_code == 403


def test_cli_writes_geojson_csv_and_png(data, tmp_path, output_dir) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from api.cli import app

    out = tmp_path / "run"
    args = ["coverage", "--meters", str(R), "--district", "D1", "--propose", "2", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "coverage.geojson").read_text(encoding="utf-8"))
    layers = {f["properties"]["layer"] for f in doc["features"]}
    assert layers == {"service_area", "uncovered_cell", "proposed_site"}
    assert not member_points_in(doc, data["lon"], data["lat"])
    rows = (out / "coverage.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "item,value,lon,lat" and any(
        r.startswith("coverage_pct_weight,") for r in rows
    )
    assert sum(r.startswith("proposed.") for r in rows) == 2
    png = Image.open(out / "coverage.png")
    assert png.format == "PNG" and png.size[0] >= 800
    (output_dir / "coverage.png").write_bytes((out / "coverage.png").read_bytes())
    bad = CliRunner().invoke(app, ["coverage", "--mode", "fly", "--out", str(out)])
    assert bad.exit_code == 1 and "unknown mode" in bad.output


def test_member_weights_respect_the_callers_subtree(data, clean_db) -> None:
    with psycopg.connect(clean_db) as conn:
        other = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('x', '其他党委', '党委', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id"
        ).fetchone()[0]
        mine = conn.execute("SELECT id FROM organisations WHERE code = 'b'").fetchone()[0]
    req = {"meters": R, "district": "D1"}
    with _client(data["url"], Principal(role="planner", org_id=mine)) as c:
        own = c.post("/api/coverage", json=req).json()["summary"]
    with _client(data["url"], Principal(role="planner", org_id=other)) as c:
        body = c.post("/api/coverage", json=req).json()
    total, _, _ = _reference_members(data)
    assert own["count_total"] == total
    assert body["summary"]["count_total"] == 0 and body["uncovered_cells"]["features"] == []


@pytest.mark.parametrize("mode", ["straight", "walk"])
def test_empty_database_answers_with_zeros(clean_db: str, mode: str) -> None:
    with _client(clean_db, Principal(role="planner")) as c:
        r = c.post("/api/coverage", json={"minutes": 15, "mode": mode, "propose": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["count_total"] == 0 and body["summary"]["coverage_pct_weight"] is None
    assert body["proposed"] == [] and body["uncovered_cells"]["features"] == []


def test_a_nudged_bbox_never_reveals_a_few_members(planner: TestClient, data) -> None:
    """Sliding a bbox edge past a few homes at a time (what exact counts would leak: differences
    of 1..9 members) moves every member figure by 0 or by 10 or more."""
    lon, lat = data["lon"], data["lat"]
    boxes = [[116.37 + step * 0.0002, 39.88, 116.43, 39.92] for step in range(15)]
    boxes.append([116.39, 39.88, 116.43, 39.92])  # and a step far enough to drop whole atoms
    exact = [
        int(((lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])).sum()) for b in boxes
    ]
    steps = [a - b for a, b in itertools.pairwise(exact)]
    assert any(0 < d < 10 for d in steps)  # the nudges do isolate a few homes
    figures = []
    for b in boxes:
        r = planner.post("/api/coverage", json={"meters": R, "bbox": b, "weight": "members"})
        assert r.status_code == 200, r.text
        s = r.json()["summary"]
        figures.append((s["count_total"], s["count_covered"], s["uncovered_count"]))
    for before, after in itertools.pairwise(figures):
        for x, y in zip(before, after, strict=True):
            assert x - y == 0 or abs(x - y) >= 10, (before, after)
    assert figures[-1][0] < figures[0][0]  # the figures do follow the box, by whole atoms
