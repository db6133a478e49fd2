"""POST /api/coverage in walk mode: service areas follow the street network (pgRouting), not circles."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import networkx as nx
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import atoms_in, round10
from pyproj import Geod
from shapely.geometry import Point, shape

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.network import build_topology
from geo.scope import Principal
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
N = 12
LON0, LAT0, DLON, DLAT = 116.40, 39.90, 0.0012, 0.0009  # about 100 m cells
R = 300.0
BUFFER = 50.0
UTM = "EPSG:32650"


def _vertex(i: int, j: int) -> tuple[float, float]:
    return (round(LON0 + i * DLON, 7), round(LAT0 + j * DLAT, 7))


@pytest.fixture
def net(clean_db: str) -> dict[str, object]:
    rng = np.random.default_rng(8)
    graph = nx.Graph()
    with psycopg.connect(clean_db) as conn:
        n = 0
        for i in range(N):
            for j in range(N):
                for di, dj in ((1, 0), (0, 1)):
                    if i + di < N and j + dj < N and rng.random() > 0.2:
                        (x0, y0), (x1, y1) = _vertex(i, j), _vertex(i + di, j + dj)
                        conn.execute(
                            "INSERT INTO roads (code, geom) VALUES (%s, ST_GeomFromText(%s, 4326))",
                            (f"r{n}", f"LINESTRING({x0} {y0}, {x1} {y1})"),
                        )
                        n += 1
    build_topology(clean_db)
    with psycopg.connect(clean_db) as conn:
        for length, x0, y0, x1, y1 in conn.execute(
            "SELECT length_m, ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)), "
            "ST_X(ST_EndPoint(geom)), ST_Y(ST_EndPoint(geom)) FROM roads"
        ):
            graph.add_edge(
                (round(x0, 7), round(y0, 7)), (round(x1, 7), round(y1, 7)), weight=length
            )
        nodes = sorted(graph.nodes)
        site_nodes = [nodes[k] for k in rng.choice(len(nodes), 3, replace=False)]
        for k, v in enumerate(site_nodes):
            conn.execute(
                "INSERT INTO service_points (code, name, kind, geom) VALUES "
                "(%s, %s, '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (f"s{k}", f"站{k}", *v),
            )
        branch = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('b', '支部', '党支部', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id"
        ).fetchone()[0]
        # every vertex is home to 12 members (3 m apart), so each vertex is a checkable demand spot
        homes = []
        for x, y in nodes:
            for m in range(12):
                hx, hy, _ = GEOD.fwd(x, y, 30 * m, 3.0)
                homes.append((f"m{len(homes)}", branch, hx, hy))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (external_id, name, branch_id, status, home) "
                "VALUES (%s, 'm', %s, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                homes,
            )
    return {"url": clean_db, "graph": graph, "sites": site_nodes, "nodes": nodes}


@pytest.fixture
def planner(net) -> Iterator[TestClient]:
    app = create_app(Settings(db=DatabaseSettings(database_url=net["url"])))
    app.dependency_overrides[get_principal] = lambda: Principal(role="planner")
    with TestClient(app) as c:
        yield c


BBOX = [LON0 - 0.001, LAT0 - 0.001, LON0 + N * DLON, LAT0 + N * DLAT]


def test_service_areas_follow_the_network(planner: TestClient, net) -> None:
    r = planner.post("/api/coverage", json={"meters": R, "mode": "walk", "bbox": BBOX})
    assert r.status_code == 200, r.text
    body = r.json()
    areas = body["service_areas"]["features"]
    assert len(areas) == 3
    graph = net["graph"]
    for f, site in zip(
        sorted(areas, key=lambda f: f["properties"]["service_point_id"]), net["sites"], strict=True
    ):
        poly = shape(f["geometry"])
        reached = nx.single_source_dijkstra_path_length(graph, site, cutoff=R, weight="weight")
        for v in reached:  # every street corner within 300 m on foot is inside
            assert poly.contains(Point(v)), v
        for v in net["nodes"]:  # nothing beyond 300 m as the crow flies (plus the access buffer)
            if GEOD.inv(*site, *v)[2] > R + BUFFER + 5:
                assert not poly.contains(Point(v)), v
        utm_area = gpd.GeoSeries([poly], crs=4326).to_crs(UTM).area[0]
        assert utm_area < np.pi * R**2 * 0.95  # a street-shaped area, not a circle


def test_walk_coverage_counts_members_by_the_network(planner: TestClient, net) -> None:
    body = planner.post("/api/coverage", json={"meters": R, "mode": "walk", "bbox": BBOX}).json()
    graph = net["graph"]
    reach: dict[tuple[float, float], float] = {}
    for site in net["sites"]:
        for v, d in nx.single_source_dijkstra_path_length(graph, site, weight="weight").items():
            reach[v] = min(reach.get(v, np.inf), d)
    # the members coverage counts: whole atoms anchored in the (snapped) bbox, each at its cell's
    # centre (this network has no buildings to spread them over; tests/privacy.atoms_in); an
    # atom is covered when its centre is in a service area
    with psycopg.connect(net["url"]) as conn:
        homes = gpd.read_postgis("SELECT home FROM members", conn, geom_col="home")
    atoms = atoms_in(homes.geometry.x, homes.geometry.y, body["params"]["bbox"])
    sizes = np.array([a[1] for a in atoms])
    centres = gpd.GeoDataFrame(geometry=[Point(a[2], a[3]) for a in atoms], crs=4326)
    s = body["summary"]
    assert (
        s["count_total"] == round10(sizes.sum()) and abs(sizes.sum() - 12 * len(net["nodes"])) < 10
    )
    # an atom whose centre is within 200 m on foot of a site (less the 65 m a res-10 centre can be
    # from its homes) is surely covered; one beyond every circle (plus the access buffer) is not
    near = np.array([min((reach.get(v, np.inf) + GEOD.inv(a[2], a[3], *v)[2] for v in net["nodes"]
                          if GEOD.inv(a[2], a[3], *v)[2] < 70), default=np.inf) for a in atoms])  # fmt: skip
    far = np.array([min(GEOD.inv(*st, a[2], a[3])[2] for st in net["sites"]) > R + BUFFER + 10
                    for a in atoms])  # fmt: skip
    surely_in = round10(sizes[near <= R - 100].sum())
    assert surely_in <= s["count_covered"] <= round10(sizes[~far].sum())
    # and the covered count is the atoms whose centre lies inside the returned polygons (sjoin)
    polys = gpd.GeoDataFrame(
        geometry=[shape(f["geometry"]) for f in body["service_areas"]["features"]], crs=4326
    )
    flags = np.zeros(len(atoms), dtype=bool)
    flags[gpd.sjoin(centres, polys, predicate="within").index.unique()] = True
    assert s["count_covered"] == round10(sizes[flags].sum())
    assert s["uncovered_count"] == s["count_total"] - s["count_covered"]
    straight = planner.post(
        "/api/coverage", json={"meters": R, "mode": "straight", "bbox": BBOX}
    ).json()
    assert straight["summary"]["count_covered"] >= s["count_covered"]


def test_walk_proposals_rank_by_gain(planner: TestClient, net) -> None:
    req = {
        "meters": R,
        "mode": "walk",
        "bbox": BBOX,
        "propose": 2,
        "candidates": "grid",
        "grid_m": 150,
    }
    body = planner.post("/api/coverage", json=req).json()
    gains = [p["gain_weight"] for p in body["proposed"]]
    assert len(gains) == 2 and gains == sorted(gains, reverse=True) and gains[-1] >= 10
    assert all(g % 10 == 0 for g in gains) and body["params"]["grid_m"] == 150.0
    again = planner.post("/api/coverage", json=req).json()
    assert again["proposed"] == body["proposed"]
