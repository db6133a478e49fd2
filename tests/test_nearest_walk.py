"""GET /api/nearest?mode=walk: network distances equal networkx shortest paths on the same graph."""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import shape

from api.app import create_app
from api.settings import Settings
from geo.network import build_topology
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
N = 9
LON0, LAT0, DLON, DLAT = 116.40, 39.90, 0.0012, 0.0009  # about 100 m cells


def _vertex(i: int, j: int) -> tuple[float, float]:
    return (round(LON0 + i * DLON, 7), round(LAT0 + j * DLAT, 7))


@pytest.fixture
def grid(clean_db: str) -> dict[str, object]:
    """A 9×9 street grid with some streets missing and some bent; service points on 12 vertices."""
    rng = np.random.default_rng(42)
    edges = []
    for i in range(N):
        for j in range(N):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < N and j + dj < N and rng.random() > 0.15:
                    edges.append(((i, j), (i + di, j + dj), rng.random() < 0.3))
    with psycopg.connect(clean_db) as conn:
        for n, (a, b, bent) in enumerate(edges):
            (x0, y0), (x1, y1) = _vertex(*a), _vertex(*b)
            mid = f"{(x0 + x1) / 2 + (0.0003 if bent and y0 != y1 else 0)} {(y0 + y1) / 2 + (0.0002 if bent and x0 != x1 else 0)}"
            conn.execute(
                "INSERT INTO roads (code, kind, geom) VALUES (%s, 'street', ST_GeomFromText(%s, 4326))",
                (f"r{n}", f"LINESTRING({x0} {y0}, {mid}, {x1} {y1})"),
            )
        # an island street nobody can walk to, with a service point on it
        conn.execute(
            "INSERT INTO roads (code, kind, geom) VALUES ('island', 'street', "
            "ST_GeomFromText('LINESTRING(116.4 39.8995, 116.401 39.8995)', 4326))"
        )
    build_topology(clean_db)
    graph = nx.Graph()
    with psycopg.connect(clean_db) as conn:
        for length, x0, y0, x1, y1 in conn.execute(
            "SELECT length_m, ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)), "
            "ST_X(ST_EndPoint(geom)), ST_Y(ST_EndPoint(geom)) FROM roads"
        ):
            graph.add_edge(
                (round(x0, 7), round(y0, 7)), (round(x1, 7), round(y1, 7)), weight=length
            )
        picks = rng.choice(N * N, 12, replace=False)
        sps = []
        for n, p in enumerate(picks):
            v = _vertex(int(p) // N, int(p) % N)
            sid = conn.execute(
                "INSERT INTO service_points (code, name, kind, geom) VALUES "
                "(%s, %s, '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                (f"sp{n}", f"站{n}", *v),
            ).fetchone()[0]
            sps.append((sid, v))
        island = conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('spi', '孤岛', '党员活动室', ST_SetSRID(ST_MakePoint(116.4005, 39.8995), 4326)) RETURNING id"
        ).fetchone()[0]
    return {"url": clean_db, "graph": graph, "sps": sps, "island": island}


@pytest.fixture
def client(grid) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=DatabaseSettings(database_url=grid["url"])))) as c:
        yield c


def _expected(
    graph: nx.Graph, sps, sources: dict[tuple[float, float], float]
) -> list[tuple[float, int]]:
    """(metres, id) for every reachable service point from weighted start vertices, ascending."""
    dist: dict[tuple[float, float], float] = {}
    for v, offset in sources.items():
        if v in graph:
            for node, d in nx.single_source_dijkstra_path_length(graph, v, weight="weight").items():
                dist[node] = min(dist.get(node, np.inf), d + offset)
    return sorted((dist[v], sid) for sid, v in sps if v in dist)


def test_walk_from_vertices_equals_networkx(client: TestClient, grid) -> None:
    rng = np.random.default_rng(1)
    for _ in range(8):
        origin = _vertex(int(rng.integers(0, N)), int(rng.integers(0, N)))
        if origin not in grid["graph"]:
            continue
        r = client.get(
            "/api/nearest", params={"lon": origin[0], "lat": origin[1], "k": 5, "mode": "walk"}
        )
        body = r.json()
        assert r.status_code == 200 and body["mode"] == "walk", body.get("note")
        expected = _expected(grid["graph"], grid["sps"], {origin: 0.0})[:5]
        got = [(x["distance_m"], x["id"]) for x in body["results"]]
        assert [g[1] for g in got] == [e[1] for e in expected]
        assert np.allclose([g[0] for g in got], [e[0] for e in expected], atol=0.05)
        for x in body["results"]:
            assert x["distance_m"] >= x["straight_m"] - 0.01
            assert x["walk_minutes"] == pytest.approx(x["distance_m"] / 80, abs=0.05)


def test_walk_from_mid_street_off_the_road(client: TestClient, grid) -> None:
    graph = grid["graph"]
    a, b = _vertex(3, 4), _vertex(4, 4)
    if not graph.has_edge(a, b) or graph[a][b]["weight"] > GEOD.inv(*a, *b)[2] + 0.01:
        pytest.skip("this seed has no straight street here")
    length = graph[a][b]["weight"]
    mid_lon, mid_lat = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    lon, lat, _ = GEOD.fwd(mid_lon, mid_lat, 0, 20)  # 20 m north of the middle of the street
    r = client.get(
        "/api/nearest", params={"lon": lon, "lat": lat, "k": 4, "mode": "walk", "speed": 60}
    )
    body = r.json()
    expected = _expected(graph, grid["sps"], {a: length / 2, b: length / 2})[:4]
    assert [x["id"] for x in body["results"]] == [e[1] for e in expected]
    got = [x["distance_m"] for x in body["results"]]
    assert np.allclose(got, [20 + e[0] for e in expected], atol=0.5)
    assert body["results"][0]["walk_minutes"] == pytest.approx(got[0] / 60, abs=0.05)


def test_route_geometry_is_as_long_as_the_walk(client: TestClient, grid) -> None:
    origin = next(v for v in (_vertex(0, 0), _vertex(1, 1), _vertex(2, 2)) if v in grid["graph"])
    body = client.get(
        "/api/nearest",
        params={"lon": origin[0], "lat": origin[1], "k": 3, "mode": "walk", "route": "true"},
    ).json()
    for x in body["results"]:
        if x["distance_m"] == 0:
            continue
        geom = shape(x["route"])
        assert GEOD.geometry_length(geom) == pytest.approx(x["distance_m"], abs=1.0)


def test_unreachable_candidate_is_left_out(client: TestClient, grid) -> None:
    r = client.get("/api/nearest", params={"lon": 116.4005, "lat": 39.8996, "k": 3, "mode": "walk"})
    body = r.json()
    assert body["mode"] == "walk"
    # the origin snaps to the island street: only the island's service point is reachable
    assert [x["id"] for x in body["results"]] == [grid["island"]]


def test_outside_the_network_answers_straight_with_a_note(client: TestClient, grid) -> None:
    r = client.get("/api/nearest", params={"lon": 116.45, "lat": 39.95, "k": 2, "mode": "walk"})
    body = r.json()
    assert r.status_code == 200
    assert body["mode"] == "straight" and "outside" in body["note"]
    assert len(body["results"]) == 2


def test_no_network_answers_straight(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('s', '站', '党群服务站', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326))"
        )
    with TestClient(create_app(Settings(db=DatabaseSettings(database_url=clean_db)))) as c:
        body = c.get(
            "/api/nearest", params={"lon": 116.41, "lat": 39.9, "mode": "walk", "route": "true"}
        ).json()
    assert body["mode"] == "straight" and "no walkable road network" in body["note"]
    assert len(body["results"]) == 1


_SAMPLE_SNAP = """
SELECT s.id, c.id, c.source, c.target, c.length_m, ST_LineLocatePoint(c.geom, s.geom), c.d
FROM service_points s
CROSS JOIN LATERAL (
    SELECT r.id, r.source, r.target, r.length_m, r.geom, ST_Distance(r.geom::geography, s.geom::geography) AS d
    FROM roads r WHERE ST_DWithin(r.geom::geography, s.geom::geography, 2000)
    ORDER BY d, r.id LIMIT 1
) c
"""


def test_sample_district_walk_equals_networkx(sample_url: str) -> None:
    """On the real sample network: every walk distance = networkx on the same edges + snap model."""
    graph = nx.Graph()
    with psycopg.connect(sample_url) as conn:
        for s, t, length in conn.execute("SELECT source, target, length_m FROM roads"):
            if not graph.has_edge(s, t) or graph[s][t]["weight"] > length:
                graph.add_edge(s, t, weight=length)
        vertex = dict(
            (int(v), (x, y))
            for v, x, y in conn.execute(
                "SELECT source, ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)) FROM roads"
            )
        )
        snaps = conn.execute(_SAMPLE_SNAP).fetchall()
    rng = np.random.default_rng(99)
    with TestClient(create_app(Settings(db=DatabaseSettings(database_url=sample_url)))) as client:
        for v in rng.choice(sorted(vertex), 12, replace=False):
            dist = nx.single_source_dijkstra_path_length(graph, int(v), weight="weight")
            expected = sorted(
                (
                    min(dist.get(s, np.inf) + f * length, dist.get(t, np.inf) + (1 - f) * length)
                    + d,
                    sid,
                )
                for sid, _, s, t, length, f, d in snaps
            )
            expected = [e for e in expected if np.isfinite(e[0])][:5]
            lon, lat = vertex[int(v)]
            body = client.get(
                "/api/nearest", params={"lon": lon, "lat": lat, "k": 5, "mode": "walk"}
            ).json()
            assert body["mode"] == "walk"
            assert [r["id"] for r in body["results"]] == [e[1] for e in expected]
            assert np.allclose(
                [r["distance_m"] for r in body["results"]], [e[0] for e in expected], atol=0.05
            )
