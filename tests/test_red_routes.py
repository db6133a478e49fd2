"""Red education routes (issue 14 §5): the order is no longer than brute force, every stop is
visited, the costs equal an independent networkx computation on the same roads, GPX parses, saved
routes are published on the red_routes layer (tiles decode with mapbox_vector_tile)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import mapbox_vector_tile
import morecantile
import networkx as nx
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees

from geo.network import build_topology
from geo.planning import routes, tsp
from geo.vocab import DRIVE_KMH

KEY = "red-routes-key-" + "r" * 32
LON0, LAT0 = 116.40, 39.92
STEP = 0.0025  # about 213 m east-west, 278 m north-south
N = 6
# lattice rows alternate kinds; the column x=2 is a footpath (walked, never driven)
ROW_KIND = ("主干路", "支路", "次干路", "支路", "主干路", "支路")
TMS = morecantile.tms.get("WebMercatorQuad")


def lattice_roads(url: str) -> None:
    """Roads of an N×N lattice, each segment its own edge, and the pgRouting topology."""
    rows = []
    for i in range(N):
        for j in range(N):
            x, y = LON0 + i * STEP, LAT0 + j * STEP
            if i + 1 < N:
                rows.append((f"h{i}-{j}", ROW_KIND[j], x, y, x + STEP, y))
            if j + 1 < N:
                kind = "步行道" if i == 2 else "支路"
                rows.append((f"v{i}-{j}", kind, x, y, x, y + STEP))
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO roads (code, name, kind, geom) VALUES (%s, %s, %s, "
            "ST_MakeLine(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)))",
            [(c, f"路{c}", k, x0, y0, x1, y1) for c, k, x0, y0, x1, y1 in rows],
        )
    build_topology(url)


def red_sites(url: str, cells: list[tuple[int, int]]) -> list[int]:
    """红色教育基地 a few metres off lattice crossings (i, j)."""
    ids = []
    with psycopg.connect(url) as conn:
        for k, (i, j) in enumerate(cells):
            row = conn.execute(
                "INSERT INTO service_points (code, name, kind, geom) VALUES (%s, %s, "
                "'红色教育基地', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                (f"R{k}", f"红色基地{k}", LON0 + i * STEP + 0.0004, LAT0 + j * STEP + 0.00005),
            ).fetchone()
            assert row is not None
            ids.append(int(row[0]))
    return ids


CELLS = [(0, 0), (4, 1), (1, 4), (5, 5), (3, 3), (2, 0), (0, 5)]


@pytest.fixture
def world(clean_db: str) -> dict[str, Any]:
    data = two_subtrees(clean_db)
    lattice_roads(clean_db)
    return {"data": data, "sites": red_sites(clean_db, CELLS)}


@pytest.fixture
def client(clean_db: str, world: dict[str, Any]) -> Iterator[TestClient]:
    add_users(clean_db)
    yield from api_client(clean_db, KEY)


def brute_force(cost: list[list[float]], closed: bool) -> float:
    return min(
        tsp.length(cost, (0, *p), closed) for p in itertools.permutations(range(1, len(cost)))
    )


def matrix(url: str, ids: list[int], mode: str) -> tuple[list[list[float]], list[Any]]:
    with psycopg.connect(url) as conn:
        stops = routes.load_stops(conn, ids)
        snaps = routes._snaps(conn, stops, mode)
        return routes.cost_matrix(conn, routes._slots(stops, snaps, mode), snaps), snaps


@pytest.mark.parametrize("mode", ["walk", "drive"])
@pytest.mark.parametrize("closed", [True, False])
def test_the_order_is_no_longer_than_brute_force(world: dict, clean_db: str, mode: str,
                                                 closed: bool) -> None:  # fmt: skip
    for n in (2, 3, 5, 7):
        ids = world["sites"][:n]
        with psycopg.connect(clean_db) as conn:
            found = routes.plan(conn, ids, mode, closed)
        order = [s["id"] for s in found["stops"]]
        assert (
            sorted(order) == sorted(ids) and order[0] == ids[0]
        )  # every stop, once; from the first
        legs = [(leg["from"], leg["to"]) for leg in found["legs"]]
        expected = list(itertools.pairwise(order)) + ([(order[-1], order[0])] if closed else [])
        assert legs == expected
        cost, _ = matrix(clean_db, ids, mode)
        best = brute_force(cost, closed)
        assert found["duration_s"] <= best + 0.1 * len(legs)  # legs are rounded to 0.1 s
        assert found["duration_s"] == pytest.approx(sum(x["duration_s"] for x in found["legs"]))
        assert found["distance_m"] == pytest.approx(sum(x["distance_m"] for x in found["legs"]))


def test_larger_tours_use_two_opt_and_visit_every_stop() -> None:
    pts = [(math.cos(k * 0.7) * (k + 3), math.sin(k * 0.7) * (k + 3)) for k in range(16)]
    cost = [[math.dist(a, b) for b in pts] for a in pts]
    order = tsp.solve(cost, closed=True)
    assert sorted(order) == list(range(16)) and order[0] == 0
    nearest_first = list(range(16))
    assert tsp.length(cost, order, True) <= tsp.length(cost, nearest_first, True)


def networkx_seconds(url: str, mode: str) -> nx.Graph:
    """The same roads as an undirected networkx graph weighted in seconds (independent of
    pgRouting: lengths from PostGIS geography, speeds from geo.vocab)."""
    g = nx.Graph()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source, target, ST_Length(geom::geography), kind FROM roads"
        ).fetchall()
    for s, t, metres, kind in rows:
        mps = routes.WALK_MPS if mode == "walk" else DRIVE_KMH.get(kind, 25.0) / 3.6
        if mps > 0:
            g.add_edge(int(s), int(t), seconds=float(metres) / mps)
    return g


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_costs_equal_networkx_on_the_same_roads(world: dict, clean_db: str, mode: str) -> None:
    """Between stops snapped right next to crossings, the network part of a cost is the
    shortest path between those crossings (± the few metres along the snapped edge)."""
    ids = world["sites"][:5]
    cost, snaps = matrix(clean_db, ids, mode)
    g = networkx_seconds(clean_db, mode)
    with psycopg.connect(clean_db) as conn:
        vertex = {
            sid: int(conn.execute(
                "SELECT v.id FROM (SELECT source AS id, ST_StartPoint(geom) AS p FROM roads "
                "UNION ALL SELECT target, ST_EndPoint(geom) FROM roads) v, service_points sp "
                "WHERE sp.id = %s ORDER BY v.p <-> sp.geom LIMIT 1",
                (sid,),
            ).fetchone()[0])  # type: ignore[index]
            for sid in ids
        }  # fmt: skip
    walk = [s[2] / routes.WALK_MPS for s in snaps]
    slack = 2 * 40.0 / (routes.WALK_MPS if mode == "walk" else 20 / 3.6)  # ≤ 40 m along an edge
    for a in range(len(ids)):
        for b in range(len(ids)):
            if a == b:
                continue
            net = cost[a][b] - walk[a] - walk[b]
            ref = nx.shortest_path_length(g, vertex[ids[a]], vertex[ids[b]], weight="seconds")
            assert abs(net - ref) <= slack, (mode, a, b, net, ref)


def test_driving_avoids_footpaths_and_is_faster(world: dict, clean_db: str) -> None:
    ids = world["sites"][:4]
    walk, _ = matrix(clean_db, ids, "walk")
    drive, _ = matrix(clean_db, ids, "drive")
    assert all(drive[a][b] < walk[a][b] for a in range(4) for b in range(4) if a != b)
    with psycopg.connect(clean_db) as conn:
        found = routes.plan(conn, ids, "drive", True)
        footpaths = conn.execute(
            "SELECT ST_AsText(ST_Union(geom)) FROM roads WHERE kind = '步行道'"
        ).fetchone()
        assert footpaths is not None
        for leg in found["legs"]:
            crossing = conn.execute(
                "SELECT ST_Length(ST_Intersection(ST_GeomFromGeoJSON(%s), "
                "ST_Buffer(ST_GeomFromText(%s, 4326), 0.00001))::geography)",
                (__import__("json").dumps(leg["geometry"]), footpaths[0]),
            ).fetchone()
            assert crossing is not None and crossing[0] < 30  # crossing it, never along it


def test_the_api_plans_downloads_and_refuses(client: TestClient, world: dict) -> None:
    ids = world["sites"][:4]
    r = client.post("/api/routes/red", json={"stops": ids, "mode": "walk", "return": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["seq"] for s in body["stops"]] == [1, 2, 3, 4]
    assert {s["id"] for s in body["stops"]} == set(ids) and body["return"] is True
    assert len(body["legs"]) == 4 and body["path"]["geometry"]["type"] == "MultiLineString"
    assert body["distance_m"] > 0 and body["duration_s"] > 0
    g = client.get(
        "/api/routes/red.gpx", params={"stops": ",".join(map(str, ids)), "return": "true"}
    )
    assert g.status_code == 200 and g.headers["content-type"].startswith("application/gpx+xml")
    doc = ET.fromstring(g.content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(doc.findall("g:wpt", ns)) == 4
    assert len(doc.findall(".//g:trkpt", ns)) >= 8
    for bad, status in (
        ({"stops": ids[:1]}, 400),
        ({"stops": [ids[0], ids[0]]}, 400),
        ({"stops": ids[:2], "mode": "fly"}, 400),
        ({"stops": [ids[0], 999_999]}, 404),
    ):
        got = client.post("/api/routes/red", json=bad)
        assert got.status_code == status, (bad, got.text)
        assert set(got.json()) >= {"code", "description"}  # the one Problem shape
    for stops in ("1;2", "1", "1,1", ",".join(map(str, range(1, 30)))):
        assert client.get("/api/routes/red.gpx", params={"stops": stops}).status_code == 400


def test_saved_routes_are_for_planners_and_published(client: TestClient, world: dict) -> None:
    ids = world["sites"][:3]
    body = {"stops": ids, "mode": "walk", "return": False, "name": "红色足迹路线"}
    assert client.post("/api/routes/red/saved", json=body).status_code == 401
    leader = bearer(client, "leader_a")
    assert client.post("/api/routes/red/saved", json=body, headers=leader).status_code == 403
    planner = bearer(client, "planner_b")
    r = client.post("/api/routes/red/saved", json=body, headers=planner)
    assert r.status_code == 201, r.text
    saved = r.json()
    again = client.post("/api/routes/red/saved", json=body, headers=planner)
    assert again.json()["id"] == saved["id"]  # the same tour keeps its row
    g = client.get(f"/api/routes/red/saved/{saved['id']}.gpx")
    assert g.status_code == 200 and b"\xe7\xba\xa2\xe8\x89\xb2" in g.content  # 红色
    assert client.get("/api/routes/red/saved/999999.gpx").status_code == 404
    first = saved["route"]["stops"][0]
    t = TMS.tile(first["lon"], first["lat"], 15)
    tile = client.get(f"/api/tiles/red_routes/15/{t.x}/{t.y}.mvt")
    assert tile.status_code == 200
    feats = mapbox_vector_tile.decode(tile.content)["red_routes"]["features"]
    assert [f["properties"]["name"] for f in feats] == ["红色足迹路线"]
    assert feats[0]["properties"]["stops"] == 3
    items = client.get("/api/collections/red_routes/items").json()["features"]
    assert [f["properties"]["name"] for f in items] == ["红色足迹路线"]
