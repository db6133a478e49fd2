"""Capacity-aware coverage (issue 14 §2): 2SFCA equals PySAL's `access` and a hand calculation;
the API on the street grid (site loads, cells, capacitated proposals) never writes live data."""

from __future__ import annotations

import access
import numpy as np
import pandas as pd
import psycopg
import pytest
from test_coverage_walk import BBOX, net  # noqa: F401  (the street grid fixture)
from test_scenarios import checksums, client

from geo.planning import capacity
from geo.planning.capacity_mclp import solve
from geo.scope import Principal


def test_two_stage_by_hand() -> None:
    """Sites A (60 m²) and B (30 m²); households 100, 50, 150; A reaches 0 and 1, B reaches 1, 2."""
    hh = np.array([100.0, 50.0, 150.0])
    supply = np.array([60.0, 30.0])
    pair_d, pair_s = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1])
    load, ratio, acc = capacity.two_stage(hh, supply, pair_d, pair_s)
    assert load.tolist() == [150.0, 200.0]
    np.testing.assert_allclose(ratio, [60 / 150, 30 / 200])
    np.testing.assert_allclose(acc, [0.4, 0.4 + 0.15, 0.15])


def test_two_stage_equals_access() -> None:
    rng = np.random.default_rng(5)
    n, m = 80, 9
    hh, supply = rng.uniform(10, 300, n), rng.uniform(0, 500, m)
    cost = rng.uniform(0, 2000, (n, m))
    pair_d, pair_s = np.nonzero(cost <= 1200)
    _, _, mine = capacity.two_stage(hh, supply, pair_d, pair_s)
    demand = pd.DataFrame({"hh": hh}, index=pd.Index(range(n), name="d"))
    sup = pd.DataFrame({"m2": supply}, index=pd.Index(range(m), name="s"))
    costs = pd.DataFrame(
        [(i, j, cost[i, j]) for i in range(n) for j in range(m)], columns=["d", "s", "c"]
    )
    a = access.Access(
        demand_df=demand, demand_value="hh", supply_df=sup, supply_value="m2",
        cost_df=costs, cost_origin="d", cost_dest="s", cost_name="c",
    )  # fmt: skip
    theirs = a.two_stage_fca(name="x", max_cost=1200).iloc[:, 0].reindex(range(n)).fillna(0)
    np.testing.assert_allclose(mine, theirs.to_numpy(), rtol=1e-9)


def test_capacitated_model_serves_no_more_than_capacity() -> None:
    unmet = np.array([80.0, 80.0, 10.0])
    pair_d, pair_c = np.array([0, 1, 2, 2]), np.array([0, 0, 0, 1])
    chosen, gain = solve(unmet, pair_d, pair_c, 2, cap=100.0, p=1)
    assert chosen == [0] and gain[0] == pytest.approx(100.0)
    chosen, gain = solve(unmet, pair_d, pair_c, 2, cap=100.0, p=2)
    assert chosen == [0, 1] and sum(gain.values()) == pytest.approx(110.0)


@pytest.fixture
def homes(net):  # noqa: F811
    """Residential blocks at a third of the grid's vertices (the walk fixture's street grid)."""
    with psycopg.connect(net["url"]) as conn:
        for k, (x, y) in enumerate(net["nodes"][::3]):
            conn.execute(
                "INSERT INTO buildings (code, use, height_m, floors, geom) VALUES "
                "(%s, '住宅', 18, 6, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
                (f"b{k}", x + 0.0001, y + 0.0001, x + 0.0003, y + 0.0003),
            )
        conn.execute("UPDATE service_points SET capacity = 100")
    return net


def test_capacity_api(homes) -> None:
    before = checksums(homes["url"])
    with client(homes["url"], Principal(role="planner", username="p")) as c:
        r = c.post("/api/capacity", json={"bbox": BBOX, "minutes": 5, "propose": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["sites"]) == 3 and body["summary"]["households"] > 0
        assert {f["properties"]["status"] for f in body["cells"]["features"]} <= {
            "under",
            "ok",
            "over",
        }
        site = body["sites"][0]
        if site["households"]:
            assert site["m2_per_100_households"] == pytest.approx(
                100 / site["households"] * 100, rel=1e-3
            )
        assert 1 <= len(body["proposed"]) <= 2
        cap_hh = 150 / 30 * 100
        assert all(0 < p["gain_households"] <= cap_hh + 1e-6 for p in body["proposed"])
        assert c.post("/api/capacity", json={"minutes": 5}).status_code == 400
    assert checksums(homes["url"]) == before


def _walks(fixture, lon: np.ndarray, lat: np.ndarray, sites: list) -> np.ndarray:
    """networkx on the fixture's graph: metres from each point to each site (geodesic leg to the
    point's nearest vertex, then the network; the sites stand on vertices)."""
    import networkx as nx
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    nodes = sorted(fixture["graph"].nodes)
    xs, ys = np.array([v[0] for v in nodes]), np.array([v[1] for v in nodes])
    from_site = [
        nx.single_source_dijkstra_path_length(fixture["graph"], s, weight="weight") for s in sites
    ]
    out = np.full((len(lon), len(sites)), np.inf)
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        d = np.asarray(geod.inv(xs, ys, np.full(len(xs), x), np.full(len(xs), y))[2])
        k = int(np.argmin(d))
        for j, reach in enumerate(from_site):
            out[i, j] = d[k] + reach.get(nodes[k], np.inf)
    return out


def test_member_demand_equals_access(homes) -> None:
    """Member demand: the caller's atoms spread over the buildings (member_spread, as coverage
    weighs members), walking metres from networkx on the same graph, 2SFCA by PySAL's `access`:
    each published cell's m² per 100 members and each site's member load equal it; every member
    figure is a multiple of 10 and none is under 10; no member point is in the answer."""
    import shapely
    from shapely.geometry import box

    from geo.analysis.member_demand import member_spread
    from geo.privacy import rounded
    from geo.vocab import WALK_M_PER_MIN

    admin, minutes = Principal(role="admin"), 5.0
    limit, area = minutes * WALK_M_PER_MIN, box(*BBOX)
    with psycopg.connect(homes["url"]) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        got = capacity.run(conn, area, minutes=minutes, demand="members", principal=admin)
        s = member_spread(conn, admin)
        ids = [r[0] for r in conn.execute("SELECT id FROM service_points ORDER BY id")]
    m = np.asarray(s.members, float)
    keep = (m > 0) & shapely.contains_xy(area, s.lon, s.lat)
    lon, lat, m = np.asarray(s.lon)[keep], np.asarray(s.lat)[keep], m[keep]
    assert len(m) > 20 and 12 * len(homes["nodes"]) - 10 <= m.sum() <= 12 * len(homes["nodes"])
    cost = _walks(homes, lon, lat, homes["sites"])
    n, k = cost.shape
    a = access.Access(
        demand_df=pd.DataFrame({"m": m}, index=pd.Index(range(n), name="d")), demand_value="m",
        supply_df=pd.DataFrame({"m2": [100.0] * k}, index=pd.Index(range(k), name="s")),
        supply_value="m2",
        cost_df=pd.DataFrame([(i, j, cost[i, j]) for i in range(n) for j in range(k)
                              if np.isfinite(cost[i, j])], columns=["d", "s", "c"]),
        cost_origin="d", cost_dest="s", cost_name="c",
    )  # fmt: skip
    theirs = a.two_stage_fca(name="x", max_cost=limit).iloc[:, 0].reindex(range(n)).fillna(0)
    acc = theirs.to_numpy()
    # the sites' member loads (hand: Σ members within the limit), published by the privacy rule
    loads = [(m * (cost[:, j] <= limit)).sum() for j in range(k)]
    by_id = {row["service_point_id"]: row for row in got["sites"]}
    for j, sid in enumerate(ids):
        want = rounded(loads[j])
        assert by_id[sid]["members"] == (want if want >= 10 else None)
        assert "households" not in by_id[sid]
        if want >= 10:
            assert by_id[sid]["m2_per_100_members"] == pytest.approx(100.0 / want * 100, abs=0.01)
    assert any(by_id[sid]["members"] for sid in ids)
    # the cells: members per H3 cell (a multiple of 10, cells under 10 left out), mean access
    import h3

    cells = np.array(
        [h3.latlng_to_cell(y, x, capacity.CELL_RES) for x, y in zip(lon, lat, strict=True)]
    )
    feats = got["cells"]["features"]
    assert feats and got["summary"]["suppressed_cells"] >= 0
    for f in feats:
        p = f["properties"]
        inside = cells == p["cell"]
        assert p["members"] == rounded(m[inside].sum()) and p["members"] >= 10
        level = (m[inside] * acc[inside]).sum() * 100 / m[inside].sum()
        assert p["m2_per_100_members"] == pytest.approx(level, abs=0.011)
    shown = len(feats) + got["summary"]["suppressed_cells"]
    assert shown == len(set(cells.tolist()))
    assert got["summary"]["members"] == rounded(m.sum())
    assert got["summary"]["served_members"] % 10 == 0


def test_member_demand_api(homes) -> None:
    """Member demand through HTTP: a planner gets member figures by the privacy rule; anonymous
    callers 401, a member 403; the live tables are untouched."""
    before = checksums(homes["url"])
    body = {"bbox": BBOX, "minutes": 5, "demand": "members", "propose": 1}
    with client(homes["url"], Principal(role="planner", username="p")) as c:
        r = c.post("/api/capacity", json=body)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["demand"] == "members" and got["summary"]["members"] >= 10
        assert all(s["members"] is None or s["members"] % 10 == 0 for s in got["sites"])
        assert all(s["households"] is None for s in got["sites"])
        assert all(
            p["gain_members"] is None or p["gain_members"] % 10 == 0 for p in got["proposed"]
        )
        assert c.post("/api/capacity", json={**body, "demand": "people"}).status_code == 400
    with client(homes["url"], Principal(role="public")) as c:
        assert c.post("/api/capacity", json=body).status_code == 401
    with client(homes["url"], Principal(role="member", username="m")) as c:
        assert c.post("/api/capacity", json=body).status_code == 403
    assert checksums(homes["url"]) == before


def test_costs_within_equals_every_pair() -> None:
    """The vertex-grouped pairs equal the plain computation: every point × every site, walked
    (leg, network, leg) and kept within the limit; points off the network have none."""
    from pyproj import Transformer
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    from geo.planning import walk_graph

    rng = np.random.default_rng(11)
    n = 60
    xy = rng.uniform(0, 2000, (n, 2))
    src, dst = rng.integers(0, n, 150), rng.integers(0, n, 150)
    length = np.hypot(*(xy[src] - xy[dst]).T) * rng.uniform(1.0, 1.3, 150)
    tf = Transformer.from_crs("EPSG:4326", "EPSG:4326")
    g = walk_graph.WalkGraph(xy, src, dst, length, tf)
    sites, points = rng.uniform(0, 2000, (9, 2)), rng.uniform(-300, 2300, (400, 2))
    points[:5] = [5000, 5000]  # off the network
    limit = 1200.0
    got = walk_graph.costs_within(g, sites, points, limit, chunk=4)
    s_node, s_leg = g.snap(sites)
    p_node, p_leg = g.snap(points)
    adj = coo_matrix(walk_graph._simple(g), shape=(n, n)).tocsr()
    d = dijkstra(adj, directed=False, indices=s_node)
    want = {}
    for i in np.nonzero(p_node >= 0)[0]:
        for j in range(len(sites)):
            total = d[j, p_node[i]] + s_leg[j] + p_leg[i]
            if total <= limit:
                want[(int(i), j)] = total
    mine = {(int(i), int(j)): m for i, j, m in zip(*got, strict=True)}
    assert len(want) > 200 and mine.keys() == want.keys()
    assert all(abs(mine[k] - want[k]) < 1e-6 for k in want)
