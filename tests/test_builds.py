"""Derived builds (tiles/builds.py): no GET starts one, the last build is served until a write,
the CLI or the scheduler makes the next, and `GET /api/builds` (admin) tells which is which."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from builds import builds_status, wait_built, wait_wanted
from fastapi.testclient import TestClient
from privacy import two_subtrees
from typer.testing import CliRunner

from api.app import create_app
from api.deps import get_principal
from api.settings import ApiSettings, Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings
from tiles.threed import build_buildings
from tiles.threed.synthetic import footprints, insert_buildings

DERIVED = ("tile_agg", "tile_agg_count", "tile_agg_state", "heat_cells", "heat_state")
FIGURES, HEAT, CLUSTERS = "pagedata:figures", "heat:member_heat", "clusters:service_points"
TILE_Z8 = "/api/tiles/service_points/8/210/97.mvt"  # the z8 tile over both subtrees


def sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def data(clean_db: str) -> dict[str, dict[str, Any]]:
    """Two organisation trees with 12 members each and no derived build of any earlier test."""
    sql(clean_db, "TRUNCATE " + ", ".join(DERIVED))
    return two_subtrees(clean_db)


def app_client(url: str, home: Path, watch: str = "off") -> TestClient:
    settings = Settings(
        DatabaseSettings(database_url=url, home=home), ApiSettings(build_watch=watch)
    )
    app = create_app(settings)
    app.dependency_overrides[get_principal] = lambda: Principal(role="leader")
    return TestClient(app)


@pytest.fixture
def leader(clean_db: str, data: Any, tmp_path: Path) -> Iterator[TestClient]:
    """A leader's client of an app whose builds follow only its own writes and the CLI."""
    with app_client(clean_db, tmp_path) as c:
        yield c


def district_members(client: TestClient) -> Any:
    r = client.get("/web/stats.json")
    assert r.status_code == 200, r.text
    return r.json()["members"]


def test_no_get_starts_a_build(clean_db: str, data: Any, tmp_path: Path) -> None:
    """Tiles, heat, page data, pages and the 3D tileset are served without building anything:
    the heat is 503 until built, the stale tileset is served as it is (the old code built the
    heat inside the GET and spawned a 3D rebuild from the tileset GET and from `/`)."""
    insert_buildings(clean_db, *footprints(4, seed=2))
    build_buildings(clean_db, tmp_path, progress=False)
    sql(clean_db, "UPDATE buildings SET height_m = height_m + 1")
    with app_client(clean_db, tmp_path) as client:
        assert client.get(TILE_Z8).status_code == 200
        assert client.get("/api/tiles/member_heat/8/210/97.mvt").status_code == 503
        assert client.get("/api/heatmap/members").status_code == 503
        assert district_members(client) == 24  # counted for this request (no build yet)
        assert client.get("/web/orgs.json").status_code == 200
        assert client.get("/").status_code == 200
        stale = client.get("/api/3dtiles/buildings/tileset.json")
        assert stale.headers["x-djmap-tileset-stale"] == "true"
        status = builds_status(client)
    assert {s["state"] for s in status.values()} <= {"missing", "stale"}, status
    assert status[HEAT]["state"] == status[FIGURES]["state"] == "missing"
    assert status["3dtiles"]["state"] == "stale"
    assert all(sql(clean_db, f"SELECT count(*) FROM {t}") == [(0,)] for t in DERIVED)
    assert not list((tmp_path / "builds").rglob("figures-*.json"))


def test_the_last_build_is_served_until_a_write_rebuilds(leader: TestClient, clean_db: str) -> None:
    wait_built(leader, FIGURES, HEAT, CLUSTERS)
    before = leader.get("/api/heatmap/members?res=0").json()
    assert district_members(leader) == 24
    sql(clean_db, "DELETE FROM members WHERE external_id LIKE 'B-%'")
    assert district_members(leader) == 24  # the last build (the old code counted again)
    assert leader.get("/api/heatmap/members?res=0").json() == before
    # the delete is seen once its notification (or the version lease, 50 ms) has come
    deadline = time.monotonic() + 30
    while (status := builds_status(leader))[FIGURES]["state"] != "stale":
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status[FIGURES]["state"] == status[HEAT]["state"] == "stale"
    assert status[CLUSTERS]["state"] == "ready"  # service points did not change
    wait_built(leader, FIGURES, HEAT)  # a write through the API does this (notify_write)
    assert district_members(leader) == 12
    after = leader.get("/api/heatmap/members?res=0").json()
    assert after["version"] != before["version"] and after["total"] < before["total"]


def test_the_scheduler_follows_writes_by_anyone(clean_db: str, data: Any, tmp_path: Path) -> None:
    with app_client(clean_db, tmp_path, watch="on") as client:
        wait_built(client, FIGURES, HEAT, CLUSTERS, write=False)  # built at start, unasked
        assert district_members(client) == 24
        before = builds_status(client)[FIGURES]["wanted_version"]
        sql(clean_db, "DELETE FROM members WHERE external_id LIKE 'A-%'")  # psql, not the API
        wait_wanted(client, FIGURES, before)  # heard through LISTEN/NOTIFY
        wait_built(client, FIGURES, HEAT, write=False)
        assert district_members(client) == 12


def test_a_new_process_serves_the_data_of_its_start(
    clean_db: str, data: Any, tmp_path: Path
) -> None:
    """Figures stored by an earlier process are not served for data written since: a process
    that starts waits for its first look (and build), then serves the last build."""
    with app_client(clean_db, tmp_path, watch="on") as client:
        assert district_members(client) == 24
    assert list((tmp_path / "builds").rglob("figures-*.json"))  # stored for the next process
    sql(clean_db, "DELETE FROM members WHERE external_id LIKE 'B-%'")  # while nothing runs
    with app_client(clean_db, tmp_path, watch="on") as client:
        assert district_members(client) == 12


def test_cli_builds_are_served_from_the_start(
    clean_db: str, data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import app as cli

    monkeypatch.setenv("DJMAP_HOME", str(tmp_path))
    monkeypatch.setenv("DJMAP_DATABASE_URL", clean_db)
    done = CliRunner().invoke(cli, ["tiles", "build"])
    assert done.exit_code == 0, done.output
    assert f"{HEAT}: built" in done.output and "3dtiles: skipped" in done.output
    bad = CliRunner().invoke(cli, ["tiles", "build", "--only", "nothing"])
    assert bad.exit_code == 1 and FIGURES in bad.output
    with app_client(clean_db, tmp_path) as client:  # no write, no scheduler: loaded, not built
        wait_built(client, FIGURES, HEAT, CLUSTERS, write=False)
        assert client.get("/api/heatmap/members").status_code == 200


def test_builds_route_is_for_admins(leader: TestClient) -> None:
    app: Any = leader.app
    for role, status in (("public", 401), ("leader", 403), ("admin", 200)):
        app.dependency_overrides[get_principal] = lambda role=role: Principal(role=role)
        assert leader.get("/api/builds").status_code == status, role
    body = leader.get("/api/builds").json()
    assert body["watch"] is False
    kinds = {b["kind"] for b in body["builds"]}
    assert {"clusters", "heat", "3dtiles", "terrain", "pagedata"} <= kinds
    summary = leader.get("/api/health").json()["builds"]
    assert set(summary) == {"ready", "stale", "building", "missing", "failed"}
    assert sum(summary.values()) == len(body["builds"])


def test_heat_build_streams_the_same_cells_as_publish(
    clean_db: str, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heat build reads its points in chunks (bounded memory at 10,000,000 members) and
    publishes exactly the items of `publish` over every point at once (geo/privacy/tree.py)."""
    import asyncio

    import asyncpg

    from layers import catalog
    from tiles import heat
    from tiles.versions import layer_token, read_versions

    monkeypatch.setattr(heat, "CHUNK", 5)  # 24 homes: five fetches
    layer = catalog.heat_of("members")
    assert layer is not None

    async def build() -> str:
        pool = await asyncpg.create_pool(clean_db, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                token = layer_token(layer, await read_versions(conn))
            return await heat.ensure_built(pool, layer, token)
        finally:
            await pool.close()

    token = asyncio.run(build())
    homes = sql(clean_db, "SELECT ST_X(home), ST_Y(home) FROM members WHERE home IS NOT NULL")
    assert len(homes) == 24
    want = {(i.res, i.cell, i.merged, i.count) for i in heat.publish(homes)}
    got = sql(clean_db, "SELECT res, cell, merged, count, token FROM heat_cells")
    assert {(r, c, m, n) for r, c, m, n, _ in got} == want
    assert {t for *_, t in got} == {token} and len(got) == len(want)


BRUTE_FORCE_FIGURES = """
SELECT o.id, count(m.id) AS members,
       count(m.id) FILTER (WHERE EXISTS (SELECT 1 FROM service_points s
           WHERE ST_DWithin(s.geom::geography, m.home::geography, %(r)s))) AS covered,
       count(m.id) FILTER (WHERE m.home IS NULL) AS no_home
FROM organisations o LEFT JOIN members m ON m.branch_id = o.id
GROUP BY o.id ORDER BY o.id
"""
RING_HOMES = """
INSERT INTO members (external_id, name, branch_id, status, joined, home)
SELECT 'R-' || d || '-' || az, '党员R', %(branch)s, '正式', '2010-01-01',
       ST_Project(s.geom::geography, d, radians(az))::geometry
FROM service_points s,
     unnest(ARRAY[0.0, 1.0, 20.0, 50.5, 79.0, 81.0, 120.0, 500.0, 899.5, 919.9, 920.1, 950.0,
                  999.0, 999.7, 1000.3, 1001.0, 1050.0, 1079.9, 1080.1, 1200.0, 2500.0]) AS d,
     generate_series(0, 350, 10) AS az
WHERE s.code = 'A-SP'
"""


@pytest.mark.parametrize("radius", [1000.0, 60.0])
def test_figures_statement_counts_what_each_home_test_counts(
    clean_db: str, data: dict[str, dict[str, Any]], radius: float
) -> None:
    """The figures build's statement (cells sure inside or outside the circle, the rest home by
    home) counts exactly the homes ST_DWithin finds covered: homes on rings around a service
    point at distances across the circle's edge and the cells' 80 m margin, no home, far homes."""
    import asyncio

    import asyncpg

    from web.queries import ORG_MEMBERS_SQL

    with psycopg.connect(clean_db) as conn:
        conn.execute(RING_HOMES, {"branch": data["A"]["branch"]})
    sql(clean_db, "UPDATE members SET home = NULL WHERE external_id = 'A-M0'")

    async def fetch() -> list[tuple[int, int, int, int]]:
        conn = await asyncpg.connect(clean_db)
        try:
            rows = await conn.fetch(ORG_MEMBERS_SQL, radius)
        finally:
            await conn.close()
        return sorted((r["id"], r["members"], r["covered"], r["no_home"]) for r in rows)

    with psycopg.connect(clean_db) as conn:
        want = [tuple(r) for r in conn.execute(BRUTE_FORCE_FIGURES, {"r": radius}).fetchall()]
    got = asyncio.run(fetch())
    assert got == want
    branch = next(r for r in got if r[0] == data["A"]["branch"])
    assert 0 < branch[2] < branch[1] - 1 and branch[3] == 1  # some covered, some not
