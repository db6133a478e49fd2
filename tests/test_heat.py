"""Privacy-safe heat: no published number, nor any difference of them, is a count under 10."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import h3
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from builds import wait_built
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import ApiSettings, Settings
from geo.privacy.tree import atom_cells
from geo.scope import Principal
from geo.settings import DatabaseSettings
from tiles.heat import RES_MAX, HeatItem, K, publish, res_for_zoom, view

TMS = morecantile.tms.get("WebMercatorQuad")
LON, LAT = 116.40, 39.90


def clustered_points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    """Points in dense blobs and a sparse scatter, so many cells sit near the threshold."""
    rng = random.Random(seed)
    centres = [(LON + rng.uniform(-0.05, 0.05), LAT + rng.uniform(-0.04, 0.04)) for _ in range(12)]
    points = []
    for i in range(n):
        if i % 5 == 0:
            points.append((LON + rng.uniform(-0.08, 0.08), LAT + rng.uniform(-0.06, 0.06)))
        else:
            cx, cy = centres[i % len(centres)]
            points.append((cx + rng.gauss(0, 0.004), cy + rng.gauss(0, 0.003)))
    return points


def atoms(items: list[HeatItem]) -> list[int]:
    """The disjoint pieces every published number is a sum of: finest cells and remainders."""
    return [i.count for i in items if i.merged or i.res == RES_MAX]


def check_rule(items: list[HeatItem], points: list[tuple[float, float]]) -> None:
    published = {(i.res, i.cell): i.count for i in items if not i.merged}
    assert all(i.count >= K for i in items)
    for i in items:  # top-down: a published cell's parent is published
        if not i.merged and i.res > 0:
            assert (i.res - 1, h3.cell_to_parent(i.cell, i.res - 1)) in published
    for (res, cell), count in published.items():  # count = published children + remainder
        if res == RES_MAX:
            continue
        children = sum(
            n
            for (r, c), n in published.items()
            if r == res + 1 and h3.cell_to_parent(c, res) == cell
        )
        remainder = next(
            (i.count for i in items if i.merged and i.res == res and i.cell == cell), 0
        )
        assert children + remainder == count
        assert remainder == 0 or remainder >= K
    assert all(a >= K for a in atoms(items))
    top = sum(n for (res, _), n in published.items() if res == 0)
    assert sum(atoms(items)) == top  # the atoms partition the published points
    finest = Counter(h3.latlng_to_cell(lat, lon, RES_MAX) for lon, lat in points)
    for (res, cell), count in published.items():  # counts are true counts
        assert count == sum(n for c, n in finest.items() if h3.cell_to_parent(c, res) == cell)


def test_rule_holds_on_clustered_data() -> None:
    points = clustered_points(4000)
    items = publish(points)
    check_rule(items, points)
    top = sum(i.count for i in items if i.res == 0 and not i.merged)
    for res in range(RES_MAX + 1):  # every resolution's view partitions the published points
        assert sum(i.count for i in view(items, res)) == top


def test_a_remainder_under_ten_withdraws_a_sibling() -> None:
    rng = random.Random(1)
    parent = h3.latlng_to_cell(LAT, LON, 7)
    kids = sorted(h3.cell_to_children(parent, 8))
    points: list[tuple[float, float]] = []
    for cell, n in zip(
        kids, (12, 11, 7), strict=False
    ):  # 30 = 12 + 11 + 7: the 7 must not be derivable
        lat, lon = h3.cell_to_latlng(cell)
        points += [
            (lon + rng.uniform(-1e-5, 1e-5), lat + rng.uniform(-1e-5, 1e-5)) for _ in range(n)
        ]
    items = publish(points)
    check_rule(items, points)
    at8 = {i.cell: i.count for i in items if i.res == 8 and not i.merged}
    assert at8 == {kids[0]: 12}  # the 11 is withdrawn: remainder 18, not 7
    assert any(i.merged and i.res == 7 and i.count == 18 for i in items)


def test_fewer_than_ten_points_publish_nothing() -> None:
    assert publish([(LON, LAT)] * 9) == []
    assert [i.count for i in publish([(LON, LAT)] * 10) if i.res == RES_MAX] == [10]


@pytest.fixture
def heat_db(clean_db: str) -> str:
    points = clustered_points(1500)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) "
            "VALUES ('o1', '支部', '党支部', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326))"
        )
        with conn.cursor().copy(
            "COPY members (external_id, name, branch_id, status, home) FROM STDIN"
        ) as cp:
            for i, (lon, lat) in enumerate(points):
                cp.write_row((f"m{i}", f"党员{i}", 1, "正式", f"SRID=4326;POINT({lon} {lat})"))
    return clean_db


@pytest.fixture
def leader(heat_db: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(DatabaseSettings(database_url=heat_db, home=tmp_path), ApiSettings())
    app = create_app(settings)
    app.dependency_overrides[get_principal] = lambda: Principal(role="leader")
    with TestClient(app) as client:
        yield client


def test_member_heat_tiles_hold_the_rule_at_every_zoom(leader: TestClient, heat_db: str) -> None:
    with psycopg.connect(heat_db) as conn:
        rows = conn.execute("SELECT ST_X(home), ST_Y(home) FROM members").fetchall()
    items = publish([(float(x), float(y)) for x, y in rows])
    for zoom in range(0, 17):
        cells: dict[tuple[str, bool], int] = {}
        for tile in TMS.tiles(LON - 0.09, LAT - 0.07, LON + 0.09, LAT + 0.07, [zoom]):
            r = leader.get(f"/api/tiles/member_heat/{zoom}/{tile.x}/{tile.y}.mvt")
            assert r.status_code == 200
            if not r.content:
                continue
            for f in mapbox_vector_tile.decode(r.content)["member_heat"]["features"]:
                props = f["properties"]
                assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
                assert props["count"] >= K
                cells[(props["cell"], props["merged"])] = props["count"]
        expected = {(i.cell, i.merged): i.count for i in view(items, res_for_zoom(zoom))}
        assert cells == expected, zoom


def test_member_heat_json_and_filters(leader: TestClient) -> None:
    seen = set()
    for res in range(RES_MAX + 1):
        body = leader.get(f"/api/heatmap/members?res={res}").json()
        assert body["threshold"] == K
        assert all(c["count"] >= K for c in body["cells"])
        seen.add(body["total"])
    assert len(seen) == 1  # every resolution accounts for the same published total
    geo = leader.get("/api/heatmap/members?res=8&format=geojson").json()
    assert geo["type"] == "FeatureCollection"
    assert all(f["geometry"]["type"] == "Polygon" for f in geo["features"])
    tile = TMS.tile(LON, LAT, 12)
    for query in ("?status=正式", "?org=1", "?kind=x"):
        r = leader.get(f"/api/tiles/member_heat/12/{tile.x}/{tile.y}.mvt{query}")
        assert r.status_code == 400
    assert leader.get("/api/heatmap/members?res=16").status_code == 400
    assert leader.get("/api/heatmap/nothing").status_code == 404


def test_no_member_point_below_admin(heat_db: str, tmp_path: Path) -> None:
    settings = Settings(DatabaseSettings(database_url=heat_db, home=tmp_path), ApiSettings())
    app = create_app(settings)
    tile = TMS.tile(LON, LAT, 14)
    with TestClient(app) as client:
        for role in ("public", "member", "leader", "planner", "steward"):
            app.dependency_overrides[get_principal] = lambda role=role: Principal(role=role)
            assert client.get(f"/api/tiles/members/14/{tile.x}/{tile.y}.mvt").status_code == 403
            ids = {layer["id"] for layer in client.get("/api/layers").json()["layers"]}
            assert "members" not in ids
        app.dependency_overrides[get_principal] = lambda: Principal(role="member")
        assert client.get("/api/heatmap/members").status_code == 403
        app.dependency_overrides[get_principal] = lambda: Principal(role="admin")
        body = client.get(f"/api/tiles/members/14/{tile.x}/{tile.y}.mvt").content
        assert mapbox_vector_tile.decode(body)["members"]["features"]


def test_member_heat_is_rebuilt_after_a_write(leader: TestClient, heat_db: str) -> None:
    before = leader.get("/api/heatmap/members?res=0").json()
    with psycopg.connect(heat_db, autocommit=True) as conn:
        conn.execute("DELETE FROM members WHERE id <= 300")
    assert leader.get("/api/heatmap/members?res=0").json() == before  # served until rebuilt
    wait_built(leader, "heat:member_heat", write=False)  # the scheduler heard the write
    after = leader.get("/api/heatmap/members?res=0").json()
    assert after["version"] != before["version"]
    assert after["total"] < before["total"]


def test_activity_heat_counts_checkins(heat_db: str, tmp_path: Path) -> None:
    with psycopg.connect(heat_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) VALUES "
            "('a1', '主题党日', '主题党日', 1, now(), now() + interval '2 hours', "
            "ST_SetSRID(ST_MakePoint(116.40, 39.90), 4326)),"
            "('a2', '学习', '学习', 1, now(), now() + interval '2 hours', "
            "ST_SetSRID(ST_MakePoint(116.45, 39.93), 4326))"
        )
        conn.execute(
            "INSERT INTO checkins (activity_id, member_id, distance_m) "
            "SELECT 1, id, 5 FROM members WHERE id <= 25 UNION ALL "
            "SELECT 2, id, 5 FROM members WHERE id <= 6"
        )
    settings = Settings(DatabaseSettings(database_url=heat_db, home=tmp_path), ApiSettings())
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/heatmap/activities?res=9").json()
        # 25 and 6 check-ins at two sites: publishing the 25 would reveal the 6, so only the
        # coarser cell holding both is published (as a merged remainder of 31).
        assert body["total"] == 31
        assert [(c["count"], c["merged"]) for c in body["cells"]] == [(31, True)]


def test_no_heat_response_carries_a_member_home(leader: TestClient, heat_db: str) -> None:
    from privacy import assert_no_member_points

    with psycopg.connect(heat_db) as conn:
        homes = [
            (float(x), float(y))
            for x, y in conn.execute("SELECT ST_X(home), ST_Y(home) FROM members")
        ]
    for res in (0, 5, 8, 10):
        assert_no_member_points(leader.get(f"/api/heatmap/members?res={res}").json(), homes)
        # GeoJSON holds only hexagon corners (too many numbers for the digit check above)
        for f in leader.get(f"/api/heatmap/members?res={res}&format=geojson").json()["features"]:
            ring = f["geometry"]["coordinates"][0]
            corners = [(lng, lat) for lat, lng in h3.cell_to_boundary(f["properties"]["cell"])]
            assert len(ring) == len(corners) + 1
            for (x, y), (cx, cy) in zip(ring, corners, strict=False):
                assert abs(x - cx) < 1e-6 and abs(y - cy) < 1e-6
    assert_no_member_points(leader.get("/api/tiles/member_heat/tilejson.json").json(), homes)
    assert_no_member_points(leader.get("/api/layers").json(), homes)
    doc = leader.get("/api/openapi.json").json()
    assert "/api/tiles/{layer}/{z}/{x}/{y}.mvt" in doc["paths"]
    assert "/api/heatmap/{metric}" in doc["paths"]


def test_atoms_are_the_published_pieces() -> None:
    """atom_cells puts each point in its deepest published cell: the atoms' sizes are exactly the
    published leaves' counts and remainders (each at least K), and unplaced points are the rest."""
    rng = random.Random(11)
    points = [(116.4 + rng.gauss(0, 0.01), 39.9 + rng.gauss(0, 0.01)) for _ in range(3000)]
    points += [(116.6 + rng.random() * 0.001, 39.7) for _ in range(4)]  # a lonely four
    items = publish(points)
    atoms = Counter(a for a in atom_cells(points) if a is not None)
    remainders = {i.cell for i in items if i.merged}
    expected = Counter(
        {i.cell: i.count for i in items if i.merged}
        | {i.cell: i.count for i in items if not i.merged and not _has_published_child(i, items)}
    )
    assert atoms == expected and min(atoms.values()) >= K
    assert sum(atoms.values()) == sum(i.count for i in items if i.res == 0 and not i.merged)
    assert remainders <= set(atoms)


def _has_published_child(item: HeatItem, items: list[HeatItem]) -> bool:
    return any(
        i.res == item.res + 1 and not i.merged and h3.cell_to_parent(i.cell, item.res) == item.cell
        for i in items
    )
