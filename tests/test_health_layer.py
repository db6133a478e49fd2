"""The health layer `org_health` (issue 13 §3): leaders and up, each within their subtree,
coloured by status with a legend, sized by a published member class (none under 10, never a
count); its tiles move on when the scores are rebuilt after a write, and the build itself is
per data version (a second build of the same data is the same build)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from health_world import build, make_world, principal
from live_world import client

from geo.health import clock
from geo.privacy import K, size_class
from layers import registry
from tiles.health_build import HealthScores
from tiles.versions import read_versions

TMS = morecantile.tms.get("WebMercatorQuad")
BBOX = (116.39, 39.89, 116.51, 39.91)
LAYER = "org_health"


def features(c, zoom: int = 12) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    found: dict[int, dict] = {}
    for t in TMS.tiles(*BBOX, [zoom]):
        r = c.get(f"/api/tiles/{LAYER}/{t.z}/{t.x}/{t.y}.mvt")
        assert r.status_code == 200, r.text
        if r.content:
            layer = mapbox_vector_tile.decode(r.content).get(LAYER, {})
            for f in layer.get("features", []):
                found[int(f["properties"]["id"])] = f["properties"]
    return found


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    ids = make_world(clean_db)
    build(clean_db)
    return ids


def test_leaders_see_their_subtree_coloured_and_sized_by_class(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    with client(clean_db, principal("leader", world["c1"]), tmp_path) as c:
        got = features(c)
        api = {
            k: c.get(f"/api/orgs/{k}/health").json()
            for k in (world["c1"], world["b1"], world["b3"])
        }
    assert set(got) == {world["c1"], world["b1"], world["b3"]}  # not c2, b2
    for org_id, props in got.items():
        assert props["status"] in ("green", "amber", "red")
        assert props["score"] == pytest.approx(api[org_id]["score"])
        assert "members" not in props
    assert got[world["b1"]]["size_class"] == size_class(12) == 1
    assert "size_class" not in got[world["b3"]]  # 3 members: no class published
    assert got[world["c1"]]["size_class"] == 1  # 15 in its subtree
    with client(clean_db, principal("admin"), tmp_path) as c:
        assert set(features(c)) == {world[k] for k in ("c1", "c2", "b1", "b2", "b3")}


@pytest.mark.parametrize("role", ["public", "member"])
def test_the_public_and_members_get_no_health_tiles(
    clean_db: str, world: dict[str, int], tmp_path: Path, role: str
) -> None:
    t = next(iter(TMS.tiles(*BBOX, [12])))
    with client(clean_db, principal(role, world["b1"]), tmp_path) as c:
        r = c.get(f"/api/tiles/{LAYER}/{t.z}/{t.x}/{t.y}.mvt")
        assert r.status_code in (401, 403, 404)
        assert LAYER not in {x["id"] for x in c.get("/api/layers").json()["layers"]}


def test_the_layer_describes_itself_with_a_legend() -> None:
    layer = registry.get(LAYER)
    assert layer.audience == "leader"
    assert [entry.zh for entry in layer.style.legend] == ["良好", "一般", "较差"]
    assert {f.name for f in layer.fields} >= {"score", "status", "size_class"}
    assert all("member" not in f.name for f in layer.fields)
    assert size_class(K - 1) is None and size_class(K) == 1 and size_class(200) == 3


def test_a_write_moves_the_scores_and_the_layers_version(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    async def wanted() -> str | None:
        pool = await asyncpg.create_pool(clean_db, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                return await HealthScores(pool).wanted(await read_versions(conn))
        finally:
            await pool.close()

    with client(clean_db, principal("admin"), tmp_path) as c:
        before_v = c.get(f"/api/tiles/{LAYER}/tilejson.json").json()["tiles"][0]
    token = asyncio.run(wanted())
    again = build(clean_db)
    assert again.token == token  # the same data: the same build
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO meetings (code, org_id, kind, held_on, source) VALUES "
            "('m', %s, '党小组会', %s, 'entry')",
            (world["b1"], clock.today()),
        )
    assert asyncio.run(wanted()) != token
    rebuilt = build(clean_db)
    assert rebuilt.token != token
    with client(clean_db, principal("admin"), tmp_path) as c:
        assert c.get(f"/api/tiles/{LAYER}/tilejson.json").json()["tiles"][0] != before_v
        line = next(
            x
            for x in c.get(f"/api/orgs/{world['b1']}/health").json()["breakdown"]
            if x["rule"] == "group_meeting"
        )
        assert line["last_fulfilled"] == clock.today().isoformat()
