"""POST /api/coverage (straight): equals an independent geopandas computation; privacy; proposals.

Member figures follow the atom rule (geo/privacy/atoms.py): the heat rule's atoms, each spread over
the buildings of its region (or at its cell's centre), published as multiples of 10; the reference
here rebuilds that demand (tests/privacy.member_places) and puts it through geopandas."""

from __future__ import annotations

import json
from collections.abc import Iterator

import geopandas as gpd
import h3
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import member_places, member_points_in, round10
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
    return make_data(clean_db)


def make_data(clean_db: str) -> dict[str, object]:
    """Six service points, about 4,000 member homes and 300 buildings around AREA (district D1)."""
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


def planner_client(url: str) -> TestClient:
    """A client of the app on `url` whose every caller is an unbound planner."""
    return _client(url, Principal(role="planner", username="p"))


@pytest.fixture
def planner(data) -> Iterator[TestClient]:
    with planner_client(data["url"]) as c:
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


def _buildings(url: str) -> gpd.GeoDataFrame:
    """Building points (on the footprint) and estimated residents, by geopandas."""
    with psycopg.connect(url) as conn:
        b = gpd.read_postgis("SELECT code, use, floors, geom FROM buildings", conn, geom_col="geom")
    area_m2 = b.geometry.to_crs(UTM).area
    residents = np.where(b["use"] == "住宅", area_m2 * b["floors"] / 35.0, 0.0)
    return gpd.GeoDataFrame({"residents": residents}, geometry=b.representative_point(), crs=4326)


def _places(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The member demand coverage counts: atoms spread over the buildings (reference)."""
    b = _buildings(data["url"])
    return member_places(data["lon"], data["lat"], b.geometry.x, b.geometry.y, b["residents"])


def _reference_members(data, bbox=AREA) -> tuple[float, float, tuple, np.ndarray]:
    """(total, covered) members of the area as coverage counts them (before rounding), the
    places (lon, lat, members) in it, and whether each is covered (geopandas buffers)."""
    lon, lat, n = _places(data)
    inside = (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    lon, lat, n = lon[inside], lat[inside], n[inside]
    flags = _covered_flags({**data, "lon": lon, "lat": lat})
    return float(n.sum()), float(n[flags].sum()), (lon, lat, n), flags


def _published(value: float, exact: float) -> bool:
    """`value` is `exact` published: rounded to a multiple of 10 (geopandas areas may differ
    from PostGIS's in the third digit, so within 5.5)."""
    return value % 10 == 0 and abs(value - exact) <= 5.5


def test_members_coverage_equals_geopandas(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "weight": "members"})
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    total, covered, _, _ = _reference_members(data)
    assert _published(s["count_total"], total) and _published(s["count_covered"], covered)
    assert s["uncovered_count"] == s["count_total"] - s["count_covered"]
    exact = _covered_flags(data)[_in_area(data)]  # the truth the atoms approximate
    assert abs(total - exact.size) < 150 and abs(covered - exact.sum()) < 0.1 * exact.size
    assert s["weight_covered"] == s["count_covered"]
    assert s["uncovered_weight"] == s["uncovered_count"]
    assert s["coverage_pct_weight"] == pytest.approx(
        100 * s["count_covered"] / s["count_total"], abs=0.01
    )
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


LONELY = np.array([[116.4495, 39.8705], [116.4496, 39.8706], [116.4497, 39.8704]])


def _expected_cells(lon, lat, n, res: int = 9) -> dict[str, int]:
    """Members per H3 cell at `res`, a cell under 10 merged into its parent up to 3 times (then
    not drawn), counts rounded to 10: what the uncovered cells of a member run show."""
    sums: dict[str, float] = {}
    for x, y, k in zip(lon, lat, n, strict=True):
        c = h3.latlng_to_cell(y, x, res)
        sums[c] = sums.get(c, 0.0) + k
    out: dict[str, int] = {}
    for level in range(res, res - 4, -1):
        small: dict[str, float] = {}
        for c, k in sums.items():
            if k >= 10:
                out[c] = round10(k)
            elif k > 0 and level > res - 3:
                parent = h3.cell_to_parent(c, level - 1)
                small[parent] = small.get(parent, 0.0) + k
        sums = small
    return out


def test_cells_obey_the_threshold_and_no_member_point_leaks(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3})
    body = r.json()
    feats = body["uncovered_cells"]["features"]
    counts = {f["properties"]["h3"]: f["properties"]["count"] for f in feats}
    assert feats and all(n >= 10 and n % 10 == 0 for n in counts.values())
    # the uncovered member demand per res-9 cell, small cells merged upward (reference)
    _, _, (lon, lat, n), flags = _reference_members(data)
    expected = _expected_cells(lon[~flags], lat[~flags], n[~flags])
    assert set(counts) == set(expected)
    assert all(abs(counts[c] - expected[c]) <= 10 for c in counts)  # rounding of near-equal sums
    assert not member_points_in(body, data["lon"], data["lat"])


def _covered_by(lon, lat, slon, slat) -> np.ndarray:
    return np.asarray(GEOD.inv(lon, lat, np.full(len(lon), slon), np.full(len(lon), slat))[2]) <= R


def test_proposals_gain_what_they_claim_in_order(planner: TestClient, data) -> None:
    body = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3}).json()
    proposed = body["proposed"]
    assert [p["rank"] for p in proposed] == [1, 2, 3]
    gains = [p["gain_weight"] for p in proposed]
    assert gains == sorted(gains, reverse=True) and gains[-1] >= 10
    # the members the run counts: the atoms spread over the district's buildings; a gain is the
    # demand a site newly reaches (geodesic), rounded to 10
    total, _, (lon, lat, n), _ = _reference_members(data)
    covered = np.zeros(len(lon), dtype=bool)
    for s in data["sites"]:
        covered |= _covered_by(lon, lat, *s)
    gained = n[covered].sum()
    for p in proposed:
        assert p["source"] == "building" and p.get("gain_count") is None  # no member count
        new = _covered_by(lon, lat, p["lon"], p["lat"]) & ~covered
        assert _published(p["gain_weight"], n[new].sum())
        gained += n[new].sum()
        covered |= new
        after = 100 * round10(gained) / round10(total)
        assert p["coverage_pct_weight_after"] == pytest.approx(after, abs=0.1)


def test_same_inputs_same_result(planner: TestClient, data) -> None:
    req = {"meters": R, "district": "D1", "propose": 2, "candidates": "grid"}
    a = planner.post("/api/coverage", json=req).json()
    b = planner.post("/api/coverage", json=req).json()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert all(p["source"] == "grid" for p in a["proposed"])


def test_given_candidates(planner: TestClient, data) -> None:
    """A given candidate is snapped to the 25 m lattice and proposed only when the member demand
    it would newly reach is 10 or more; its gain is that demand, rounded to 10."""
    _, _, (lon, lat, n), flags = _reference_members(data)
    uncovered = np.where(flags, 0.0, n)
    best = int(np.argmax(uncovered))  # the place with the most uncovered members
    far = [116.449, 39.8705]  # next to the lonely three
    for given in (far, [float(lon[best]) + 0.0001, float(lat[best])]):
        req = {"meters": R, "district": "D1", "propose": 1, "candidates": [given]}
        body = planner.post("/api/coverage", json=req).json()
        (snapped,) = body["params"]["candidate_points"]
        assert (
            GEOD.inv(given[0], given[1], snapped[0], snapped[1])[2] <= 18.0
        )  # half the 25 m lattice's diagonal
        gain = uncovered[_covered_by(lon, lat, *snapped)].sum()
        if gain >= 10.5:
            (p,) = body["proposed"]
            assert p["source"] == "given" and [p["lon"], p["lat"]] == snapped
            assert _published(p["gain_weight"], gain)
        elif gain < 9.5:
            assert body["proposed"] == []
    assert body["proposed"] and body["proposed"][0]["gain_weight"] >= round10(uncovered[best]) - 10


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
    assert _published(own["count_total"], _reference_members(data)[0])
    assert body["summary"]["count_total"] == 0 and body["uncovered_cells"]["features"] == []


@pytest.mark.parametrize("mode", ["straight", "walk"])
def test_empty_database_answers_with_zeros(clean_db: str, mode: str) -> None:
    with _client(clean_db, Principal(role="planner")) as c:
        r = c.post("/api/coverage", json={"minutes": 15, "mode": mode, "propose": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["count_total"] == 0 and body["summary"]["coverage_pct_weight"] is None
    assert body["proposed"] == [] and body["uncovered_cells"]["features"] == []
