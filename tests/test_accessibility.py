"""The accessibility surface (issue 14 §3): minutes to the nearest and third nearest service point
per H3 cell equal an independent networkx computation on the same graph; the on-demand API (with
a scenario, with member shares by the privacy rule); the derived build and its layer's tiles."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import networkx as nx
import numpy as np
import psycopg
import pytest
from pyproj import Geod
from shapely.geometry import box
from test_coverage_walk import BBOX, net  # noqa: F401  (the street grid fixture)
from test_scenarios import checksums, client

from geo.planning import accessibility
from geo.scope import Principal
from geo.vocab import WALK_M_PER_MIN
from tiles.accessibility_build import build_surface

GEOD = Geod(ellps="WGS84")
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture
def grid(net):  # noqa: F811
    """The street grid with its three sites on vertices and a fourth 40 m off the network."""
    x, y = net["nodes"][40]
    lon, lat, _ = GEOD.fwd(x, y, 45.0, 40.0)
    with psycopg.connect(net["url"]) as conn:
        conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('off', '路外', '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (lon, lat),
        )
    return {**net, "sites": [*net["sites"], (lon, lat)]}


def _nearest_vertex(nodes: list, lon: float, lat: float) -> tuple[tuple, float]:
    xs, ys = np.array([n[0] for n in nodes]), np.array([n[1] for n in nodes])
    d = np.asarray(GEOD.inv(xs, ys, np.full(len(xs), lon), np.full(len(xs), lat))[2])
    i = int(np.argmin(d))
    return nodes[i], float(d[i])


def _reference(grid, cells: list[str]) -> np.ndarray:
    """networkx: per cell, the sorted walks (leg + network + leg) to every site, in minutes."""
    import h3

    graph: nx.Graph = grid["graph"]
    nodes = sorted(graph.nodes)
    per_site = []
    for lon, lat in grid["sites"]:
        v, leg = _nearest_vertex(nodes, lon, lat)
        per_site.append((nx.single_source_dijkstra_path_length(graph, v, weight="weight"), leg))
    out = []
    for c in cells:
        lat, lon = h3.cell_to_latlng(c)
        v, leg = _nearest_vertex(nodes, lon, lat)
        walks = sorted(leg + d[v] + s_leg for d, s_leg in per_site if v in d)
        walks += [np.inf] * 3
        out.append([walks[0], walks[2]])
    return np.array(out) / WALK_M_PER_MIN


def test_surface_equals_networkx(grid) -> None:
    with psycopg.connect(grid["url"]) as conn:
        s = accessibility.surface(conn, box(*BBOX), res=10)
    assert len(s.cells) > 100
    rng = np.random.default_rng(3)
    pick = sorted(rng.choice(len(s.cells), 60, replace=False))
    ref = _reference(grid, [s.cells[i] for i in pick])
    ref[ref > accessibility.LIMIT_MIN] = np.nan
    got = np.column_stack([s.t1[pick], s.t3[pick]])
    assert np.isfinite(got).sum() > 60
    np.testing.assert_allclose(got, ref, atol=0.02)  # 1.6 m of projection against geodesics
    assert (s.t3 >= s.t1).all()


def test_api_scenario_and_member_shares(grid) -> None:
    bbox = ",".join(map(str, BBOX))
    with client(grid["url"], Principal(role="planner", username="p")) as c:
        base = c.get("/api/accessibility", params={"bbox": bbox, "res": 10, "members": True})
        assert base.status_code == 200, base.text
        body = base.json()
        t1 = {f["properties"]["cell"]: f["properties"]["t1_min"] for f in body["cells"]["features"]}
        shares = body["members"]
        assert shares["members"] % 10 == 0 and shares["members"] >= 10
        assert all(v is None or 0 <= v <= 100 for v in shares["share_within_pct"].values())
        with psycopg.connect(grid["url"]) as conn:
            first = conn.execute("SELECT min(id) FROM service_points").fetchone()[0]
        before = checksums(grid["url"])
        sid = c.post(
            "/api/scenarios", json={"name": "少一站", "changes": [{"op": "remove", "id": first}]}
        ).json()["id"]
        less = c.get("/api/accessibility", params={"bbox": bbox, "res": 10, "scenario": sid})
        assert less.status_code == 200 and checksums(grid["url"]) == before
        after = {
            f["properties"]["cell"]: f["properties"]["t1_min"]
            for f in less.json()["cells"]["features"]
        }
        worse = [
            k for k in t1 if t1[k] is not None and (after[k] is None or after[k] > t1[k] + 1e-6)
        ]
        assert worse and all(
            after[k] is None or after[k] >= t1[k] - 1e-6 for k in t1 if t1[k] is not None
        )
        assert c.get("/api/accessibility", params={"bbox": "1,2,3"}).status_code == 400
        assert c.get("/api/accessibility", params={"bbox": "0,0,10,10"}).status_code == 400
    with client(grid["url"], Principal()) as public:
        assert public.get("/api/accessibility", params={"bbox": bbox}).status_code == 200
        assert (
            public.get("/api/accessibility", params={"bbox": bbox, "members": True}).status_code
            == 401
        )
        assert (
            public.get("/api/accessibility", params={"bbox": bbox, "scenario": sid}).status_code
            == 401
        )


def test_build_and_layer_tiles_decode(grid) -> None:
    with psycopg.connect(grid["url"]) as conn:
        conn.execute(
            "INSERT INTO districts (code, name, geom) VALUES ('D', '区', "
            "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
            BBOX,
        )
    built = build_surface(grid["url"], "t1")
    assert build_surface(grid["url"], "t1").built_at == built.built_at  # same token: not rebuilt
    with psycopg.connect(grid["url"]) as conn:
        n, near = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE t1_min <= 5) FROM accessibility_cells"
        ).fetchone()
    assert n > 10 and 0 < near < n
    lon, lat = grid["sites"][0]
    t = TMS.tile(lon, lat, 15)
    with client(grid["url"], Principal()) as c:
        r = c.get(f"/api/tiles/accessibility/{t.z}/{t.x}/{t.y}.mvt")
        assert r.status_code == 200, r.text
        layer = mapbox_vector_tile.decode(r.content)["accessibility"]
        props = [f["properties"] for f in layer["features"]]
        assert props and all("t1_min" in p or p.get("band") == "far" for p in props)
        assert {p["band"] for p in props} <= {"5", "10", "15", "30", "far"}
        assert "accessibility" in [x["id"] for x in c.get("/api/layers").json()["layers"]]
