"""POST /api/coverage (straight): equals an independent geopandas computation; privacy; proposals.

Member figures follow the atom rule (geo/privacy/atoms.py): the heat rule's atoms, each placed at
its H3 cell's centre, counted whole, published as multiples of 10; the reference here puts the
same atoms' centres through geopandas (tests/privacy.atoms_in, round10)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import geopandas as gpd
import h3
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import atoms_in, round10
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


def _atoms(data, bbox=AREA) -> tuple[list[tuple[str, int, float, float]], np.ndarray]:
    """The atoms coverage counts for `bbox`, and whether each centre is covered (geopandas)."""
    atoms = atoms_in(data["lon"], data["lat"], bbox)
    lon = np.array([a[2] for a in atoms])
    lat = np.array([a[3] for a in atoms])
    return atoms, _covered_flags({**data, "lon": lon, "lat": lat})


def _reference_members(data) -> tuple[int, int, list[tuple[str, int, float, float]], np.ndarray]:
    """(total, covered) members of the district as coverage publishes them (whole atoms anchored
    in it, by their centres, rounded to 10), the atoms, and each atom's covered flag."""
    atoms, flags = _atoms(data)
    sizes = np.array([a[1] for a in atoms])
    return round10(sizes.sum()), round10(sizes[flags].sum()), atoms, flags


def test_members_coverage_equals_geopandas(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "weight": "members"})
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    total, covered, atoms, flags = _reference_members(data)
    assert (s["count_total"], s["count_covered"]) == (total, covered)
    assert s["uncovered_count"] == total - covered and total % 10 == covered % 10 == 0
    # uncovered atoms coarser than h3_res - 3 (= 6) are not drawn as cells; they stay in the summary
    coarse = [a for a, f in zip(atoms, flags, strict=True) if not f and h3.get_resolution(a[0]) < 6]
    assert s["suppressed_cells"] == len(coarse)
    exact = _covered_flags(data)[_in_area(data)]  # the truth the atoms approximate
    assert abs(total - exact.size) < 150 and abs(covered - exact.sum()) < 0.1 * exact.size
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


LONELY = np.array([[116.4495, 39.8705], [116.4496, 39.8706], [116.4497, 39.8704]])


def test_cells_obey_the_threshold_and_no_member_point_leaks(planner: TestClient, data) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3})
    body = r.json()
    feats = body["uncovered_cells"]["features"]
    counts = {f["properties"]["h3"]: f["properties"]["count"] for f in feats}
    assert feats and all(n >= 10 and n % 10 == 0 for n in counts.values())
    # each cell holds whole uncovered atoms: finer ones under their res-9 parent, coarser ones as
    # their own (merged) cell, none more than 3 resolutions coarser; counts rounded to 10
    _, _, atoms, flags = _reference_members(data)
    expected: dict[str, int] = {}
    for (cell, size, _, _), covered in zip(atoms, flags, strict=True):
        own = h3.get_resolution(cell)
        if not covered and own >= 6:
            key = h3.cell_to_parent(cell, 9) if own > 9 else cell
            expected[key] = expected.get(key, 0) + size
    assert counts == {k: round10(v) for k, v in expected.items()}
    # the lonely three (uncovered) never show as a cell of their own neighbourhood
    for f in feats:
        res = f["properties"]["resolution"]
        if res >= 7:
            lonely = {h3.latlng_to_cell(lat, lon, res) for lon, lat in LONELY}
            assert f["properties"]["h3"] not in lonely
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


def _centres(atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([a[2] for a in atoms]), np.array([a[3] for a in atoms]),
            np.array([a[1] for a in atoms]))  # fmt: skip


def test_proposals_gain_what_they_claim_in_order(planner: TestClient, data) -> None:
    body = planner.post("/api/coverage", json={"meters": R, "district": "D1", "propose": 3}).json()
    proposed = body["proposed"]
    assert [p["rank"] for p in proposed] == [1, 2, 3]
    gains = [p["gain_weight"] for p in proposed]
    assert gains == sorted(gains, reverse=True) and gains[-1] >= 10
    # the members the run counts: whole atoms anchored in the district, each at its cell's centre;
    # a gain is the atoms whose centre the site newly reaches (geodesic), rounded to 10
    _, _, atoms, flags = _reference_members(data)
    lon, lat, sizes = _centres(atoms)
    covered = np.zeros(len(lon), dtype=bool)
    for s in data["sites"]:
        covered |= _covered_by(lon, lat, *s)
    assert (covered == flags).all()  # geodesic and geopandas agree on every atom
    total, gained = sizes.sum(), sizes[covered].sum()
    for p in proposed:
        assert p["source"] == "building" and "gain_count" not in p
        new = _covered_by(lon, lat, p["lon"], p["lat"]) & ~covered
        assert p["gain_weight"] == round10(sizes[new].sum())
        gained += sizes[new].sum()
        covered |= new
        after = 100 * round10(gained) / round10(total)
        assert p["coverage_pct_weight_after"] == pytest.approx(after, abs=0.01)


def test_same_inputs_same_result(planner: TestClient, data) -> None:
    req = {"meters": R, "district": "D1", "propose": 2, "candidates": "grid"}
    a = planner.post("/api/coverage", json=req).json()
    b = planner.post("/api/coverage", json=req).json()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert all(p["source"] == "grid" for p in a["proposed"])


def test_given_candidates(planner: TestClient, data) -> None:
    """A given candidate is snapped to the 25 m lattice and proposed only when the whole atoms it
    would newly reach hold 10 or more members; its gain is theirs, rounded to 10."""
    _, _, atoms, flags = _reference_members(data)
    lon, lat, sizes = _centres(atoms)
    best = int(np.argmax(np.where(flags, 0, sizes)))  # the biggest uncovered atom
    far = [116.449, 39.8705]  # next to the lonely three (in no atom of their own)
    for given in (far, [float(lon[best]) + 0.0001, float(lat[best])]):
        req = {"meters": R, "district": "D1", "propose": 1, "candidates": [given]}
        body = planner.post("/api/coverage", json=req).json()
        (snapped,) = body["params"]["candidate_points"]
        assert GEOD.inv(*given, *snapped)[2] <= 18.0  # half the 25 m lattice's diagonal
        new = _covered_by(lon, lat, *snapped) & ~flags
        if sizes[new].sum() >= 10:
            (p,) = body["proposed"]
            assert p["source"] == "given" and [p["lon"], p["lat"]] == snapped
            assert p["gain_weight"] == round10(sizes[new].sum())
        else:
            assert body["proposed"] == []
    assert body["proposed"] and body["proposed"][0]["gain_weight"] >= round10(sizes[best])


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
        ({"h3_res": 4}, 400),
        ({"max_candidates": 0}, 400),
        ({"max_candidates": 5000}, 400),
        ({"grid_m": 5}, 400),
        ({"district": "NOPE"}, 404),
        ({"bbox": [116.0, 39.5, 117.0, 40.5]}, 413),  # about 9,500 km²
        ({"candidates": [[116.4, 39.9]] * 501}, 413),
        ({"district": "D1", "propose": 1, "candidates": "grid", "grid_m": 20}, 413),
    ],
)
def test_bad_requests(planner: TestClient, data, body, status) -> None:
    r = planner.post("/api/coverage", json=body)
    assert r.status_code == status, r.text
    assert r.json()["description"] if status != 400 else r.json()["code"]


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
    total = _reference_members(data)[0]
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


def test_parameters_snap_to_the_lattices(planner: TestClient, data) -> None:
    """Radius to 50 m, minutes to whole minutes, bbox edges outward to 0.001°, the grid step to
    50 m; the response states the values used, and requests that snap alike answer alike."""
    bbox = [116.37012, 39.88049, 116.42991, 39.91903]
    a = planner.post("/api/coverage", json={"meters": 780.5, "bbox": bbox}).json()
    b = planner.post(
        "/api/coverage", json={"meters": 805, "bbox": [116.3705, 39.8801, 116.4291, 39.9191]}
    ).json()
    assert a["params"]["radius_m"] == a["params"]["meters"] == 800.0
    assert a["params"]["bbox"] == [116.37, 39.88, 116.43, 39.92]
    assert a == b
    m = planner.post("/api/coverage", json={"minutes": 10.4, "speed": 80, "bbox": bbox}).json()
    assert (m["params"]["minutes"], m["params"]["radius_m"]) == (10.0, 800.0)
    assert m["summary"] == a["summary"]
    g = planner.post(
        "/api/coverage",
        json={"meters": 800, "bbox": bbox, "propose": 1, "candidates": "grid", "grid_m": 130},
    ).json()
    assert g["params"]["grid_m"] == 150.0 and g["proposed"]
    auto = planner.post(
        "/api/coverage", json={"meters": 800, "district": "D1", "propose": 1, "candidates": "grid"}
    ).json()
    assert auto["params"]["grid_m"] == 400.0  # radius / 2, within the grid cap


def test_analysis_slots_bound_the_work() -> None:
    """Coverage runs hold one of `analysis_slots` until their thread ends (a client that goes
    away frees nothing early); a run that finds none within `analysis_wait_s` gets 503."""
    import asyncio
    import threading

    from fastapi import FastAPI, HTTPException

    from api.routers.coverage import run_bounded
    from api.settings import ApiSettings

    settings = Settings(api=ApiSettings(analysis_slots=1, analysis_wait_s=0.2))
    app = FastAPI()
    release = threading.Event()

    async def scenario() -> tuple[int, str, str]:
        first = asyncio.ensure_future(run_bounded(app, settings, lambda: release.wait(30)))
        await asyncio.sleep(0.05)
        first.cancel()  # the client goes away; its thread still runs
        with pytest.raises(HTTPException) as busy:
            await run_bounded(app, settings, lambda: "second")
        release.set()
        await asyncio.sleep(0.1)
        third = await run_bounded(app, settings, lambda: "third")
        return busy.value.status_code, busy.value.headers["Retry-After"], third

    status, retry, third = asyncio.run(scenario())
    assert (status, retry, third) == (503, "5", "third")
