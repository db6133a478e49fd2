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
