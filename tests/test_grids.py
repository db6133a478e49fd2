"""党建网格 (issue 14 §4): imported through the ingest core with row-numbered reports and zh/en
headers; the check reports a planted overlap and a grid without a branch (and fixes neither);
coverage per grid follows the privacy rule; the grids layer decodes with mapbox_vector_tile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees
from typer.testing import CliRunner

from api.cli import app as cli
from geo.errors import ImportRejected
from geo.ingest import import_file
from geo.planning import grid_coverage, grids
from geo.privacy import K
from geo.scope import Principal

KEY = "grids-key-" + "g" * 32
TMS = morecantile.tms.get("WebMercatorQuad")
LON, LAT = 116.30, 39.90  # tree A of two_subtrees: members' homes at +0.0101.., +0.0103..
D = 0.01


def square(x: float, y: float, w: float = D, h: float = D) -> dict[str, Any]:
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write(tmp: Path, features: list[dict[str, Any]], name: str = "grids.geojson") -> Path:
    path = tmp / name
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def fixture_grids() -> list[dict[str, Any]]:
    """Three grids of tree A's branch — G2 overlaps G1 by a strip of 0.002° (a planted
    overlap), G3 only touches G1 — and one grid without a branch."""
    return [
        feature({"网格编码": "G1", "网格名称": "一号网格", "社区": "东社区", "支部": "A-B",
                 "网格长": "A-M0"}, square(LON + 0.005, LAT + 0.005, 0.02, 0.02)),
        feature({"网格编码": "G2", "网格名称": "二号网格", "社区": "东社区", "支部": "A-B",
                 "网格长": "A-M1"}, square(LON + 0.023, LAT + 0.005)),
        feature({"网格编码": "G3", "网格名称": "三号网格", "社区": "西社区", "支部": "A-B"},
                square(LON + 0.005, LAT + 0.025)),
        feature({"网格编码": "G4", "网格名称": "Grid four", "社区": "North"},
                square(LON + 0.05, LAT + 0.05)),
    ]  # fmt: skip


@pytest.fixture
def data(clean_db: str) -> dict[str, Any]:
    return two_subtrees(clean_db)


@pytest.fixture
def loaded(clean_db: str, data: dict[str, Any], tmp_path: Path) -> str:
    result = import_file(clean_db, "grids", write(tmp_path, fixture_grids()), progress=False)
    assert result.rows_written == 4 and not result.errors
    return clean_db


@pytest.fixture
def client(loaded: str) -> Iterator[TestClient]:
    add_users(loaded)
    yield from api_client(loaded, KEY)


def test_import_reports_rows_and_resolves_references(
    clean_db: str, data: dict[str, Any], tmp_path: Path
) -> None:
    bad = [
        feature({"网格编码": "B1", "网格名称": "坏网格", "支部": "NO-SUCH"}, square(LON, LAT)),
        feature({"网格编码": "B2", "网格名称": "无形", "网格长": "nobody"}, square(LON, LAT)),
        feature({"网格编码": "B3", "网格名称": "点"}, {"type": "Point", "coordinates": [LON, LAT]}),
        feature({"网格名称": "无编码"}, square(LON, LAT)),
    ]
    with pytest.raises(ImportRejected) as info:
        import_file(clean_db, "grids", write(tmp_path, bad), progress=False)
    report = info.value.report
    by_row = {(e["row"], e["code"]) for e in report["errors"]}
    assert {(1, "unknown_branch"), (2, "unknown_member"), (3, "wrong_geometry_type")} <= by_row
    assert any(row == 4 for row, _ in by_row)  # the missing code
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM grids").fetchone() == (0,)  # nothing written
    result = import_file(clean_db, "grids", write(tmp_path, fixture_grids()), progress=False)
    assert result.rows_written == 4
    again = import_file(clean_db, "grids", write(tmp_path, fixture_grids()), progress=False)
    assert again.rows_written == 0  # a rerun writes nothing
    english = [feature({"code": "G5", "name": "Grid five", "community": "South", "branch": "B-B",
                        "leader": "B-M2"}, square(LON + 0.2, LAT + 0.2))]  # fmt: skip
    assert import_file(clean_db, "grids", write(tmp_path, english, "en.geojson"),
                       progress=False).rows_written == 1  # fmt: skip
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT g.code, o.code, m.external_id, g.community, ST_GeometryType(g.geom) "
            "FROM grids g LEFT JOIN organisations o ON o.id = g.org_id "
            "LEFT JOIN members m ON m.id = g.leader_member_id ORDER BY g.code"
        ).fetchall()
    assert rows == [
        ("G1", "A-B", "A-M0", "东社区", "ST_MultiPolygon"),
        ("G2", "A-B", "A-M1", "东社区", "ST_MultiPolygon"),
        ("G3", "A-B", None, "西社区", "ST_MultiPolygon"),
        ("G4", None, None, "North", "ST_MultiPolygon"),
        ("G5", "B-B", "B-M2", "South", "ST_MultiPolygon"),
    ]


def test_the_check_reports_the_planted_overlap_and_the_missing_branch(loaded: str) -> None:
    with psycopg.connect(loaded) as conn:
        before = conn.execute("SELECT code, ST_AsBinary(geom) FROM grids ORDER BY code").fetchall()
        found = grids.check(conn)
        after = conn.execute("SELECT code, ST_AsBinary(geom) FROM grids ORDER BY code").fetchall()
        strip = conn.execute(
            "SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) FROM grids a, grids b "
            "WHERE a.code = 'G1' AND b.code = 'G2'"
        ).fetchone()
    assert before == after  # reported, not fixed
    assert not found.ok and found.grids == 4
    assert found.without_branch == [{"code": "G4", "name": "Grid four"}]
    assert [(o.a, o.b) for o in found.overlaps] == [("G1", "G2")]  # G3 only touches G1
    assert strip is not None and found.overlaps[0].area_m2 == pytest.approx(strip[0], rel=1e-6)
    assert 150_000 < found.overlaps[0].area_m2 < 200_000  # 0.002° × 0.01° at 39.9°N
    with psycopg.connect(loaded) as conn:
        assert grids.check(conn, tolerance_m2=250_000).overlaps == []  # within the tolerance


def test_the_check_through_the_cli_and_the_api(client: TestClient, loaded: str) -> None:
    run = CliRunner().invoke(cli, ["grids", "check"], env={"DJMAP_DATABASE_URL": loaded})
    assert run.exit_code == 2, run.output
    body = json.loads(run.stdout[: run.stdout.rindex("}") + 1])
    assert [(o["a"], o["b"]) for o in body["overlaps"]] == [("G1", "G2")]
    assert client.get("/api/grids/check").status_code == 401
    assert client.get("/api/grids/check", headers=bearer(client, "leader_a")).status_code == 403
    r = client.get("/api/grids/check", headers=bearer(client, "planner_b"))
    assert r.status_code == 200, r.text
    assert r.json()["without_branch"] == [{"code": "G4", "name": "Grid four"}]
    assert [(o["a"], o["b"]) for o in r.json()["overlaps"]] == [("G1", "G2")]
    bad = client.get("/api/grids/check", params={"tolerance_m2": -1},
                     headers=bearer(client, "planner_b"))  # fmt: skip
    assert bad.status_code == 400


def test_coverage_per_grid_follows_the_privacy_rule(loaded: str, data: dict[str, Any]) -> None:
    with psycopg.connect(loaded) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        figures = {
            f.code: f for f in grid_coverage.refresh(conn, Principal(role="admin"), 15, "straight")
        }
    for f in figures.values():
        assert f.members is None or (f.members >= K and f.members % K == 0)
        assert f.members_covered is None or f.members_covered % K == 0
    assert all(f.members is None for c, f in figures.items() if c != "G1")  # no member there
    with psycopg.connect(loaded) as conn:
        stored = conn.execute(
            "SELECT g.code, c.members FROM grid_coverage c JOIN grids g ON g.id = c.grid_id "
            "ORDER BY g.code"
        ).fetchall()
    assert [code for code, _ in stored] == ["G1", "G2", "G3", "G4"]
    assert all(m is None or m >= K for _, m in stored)
    version = "SELECT version FROM data_versions WHERE table_name = 'grid_coverage'"
    with psycopg.connect(loaded) as conn:
        before = conn.execute(version).fetchone()
        grid_coverage.refresh(conn, Principal(role="admin"), 15, "straight")
        assert conn.execute(version).fetchone() == before  # the same figures write nothing


def test_the_grids_layer_decodes_with_public_fields_only(client: TestClient, loaded: str) -> None:
    with psycopg.connect(loaded) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        grid_coverage.refresh(conn, Principal(role="admin"), 15, "straight")
    t = TMS.tile(LON + 0.015, LAT + 0.015, 14)
    r = client.get(f"/api/tiles/grids/14/{t.x}/{t.y}.mvt")
    assert r.status_code == 200, r.text
    feats = mapbox_vector_tile.decode(r.content)["grids"]["features"]
    props = {f["properties"]["code"]: f["properties"] for f in feats}
    assert {"G1", "G2", "G3"} <= set(props)
    assert props["G1"]["name"] == "一号网格" and props["G1"]["branch"] == "A-B 名称"
    assert all("members" not in p and "leader_name" not in p for p in props.values())
    leader = bearer(client, "leader_a")
    mine = client.get(f"/api/tiles/grids/14/{t.x}/{t.y}.mvt", headers=leader)
    led = {f["properties"]["code"]: f["properties"]
           for f in mapbox_vector_tile.decode(mine.content)["grids"]["features"]}  # fmt: skip
    assert led["G1"]["leader_name"] == "党员A0"
    assert led["G1"].get("members") is None or led["G1"]["members"] >= K
    other = bearer(client, "leader_b")  # another subtree's leader: public fields only
    theirs = client.get(f"/api/tiles/grids/14/{t.x}/{t.y}.mvt", headers=other)
    seen = mapbox_vector_tile.decode(theirs.content)["grids"]["features"]
    assert seen and all("leader_name" not in f["properties"] for f in seen)
