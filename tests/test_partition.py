"""`djmap db partition` (issue 15 §1): a small national data set (3 provinces) loaded in the
default layout, answers taken, the database converted, and the same answers after; the rows in
their province's partition, DEFAULT empty, writes working (a member moved to another province
takes its check-ins and registrations along), a bound leader's plan reading one partition, and
a second run doing nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import pandas as pd
import psycopg
import pytest
from builds import wait_built
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.deps import get_principal
from api.settings import Settings
from geo import db as geodb
from geo.cluster import Cluster
from geo.db import partition
from geo.ingest import import_file
from geo.samples.load import load_samples
from geo.samples.national import NationalSpec, generate_national
from geo.scope import Principal, scope_filter_psycopg
from geo.settings import DatabaseSettings

SPEC = NationalSpec(
    seed=7, today="2026-06-15", members=3_000, organisations=300, service_points=30,
    buildings=100, activities=20, panoramas=1, provinces=3, boundaries="grid",
)  # fmt: skip
DB = "djmap_partition"
HEAT = "heat:member_heat"
TMS = morecantile.tms.get("WebMercatorQuad")
COUNTED = ("organisations", "members", "registrations", "checkins", "events", "activities")
# what a root organisation's subtree is: every organisation's province computed independently
ROOTS_SQL = """
WITH RECURSIVE t(id, root) AS (
    SELECT id, id FROM organisations WHERE parent_id IS NULL
    UNION ALL SELECT o.id, t.root FROM organisations o JOIN t ON o.parent_id = t.id
) SELECT id, root FROM t
"""
# rows whose province is not the one of their organisation (members, events) or member
MISPLACED_SQL = """
SELECT (SELECT count(*) FROM members m JOIN organisations o ON o.id = m.branch_id
        WHERE m.province_id <> o.province_id)
     + (SELECT count(*) FROM events e LEFT JOIN organisations o ON o.id = e.org_id
        WHERE e.province_id <> coalesce(o.province_id, 0))
     + (SELECT count(*) FROM checkins c JOIN members m ON m.id = c.member_id
        WHERE c.province_id <> m.province_id)
     + (SELECT count(*) FROM registrations r JOIN members m ON m.id = r.member_id
        WHERE r.province_id <> m.province_id)
"""
# a member with a home, its branch and the branch's root, in the province given (by rank)
MEMBER_SQL = """
WITH RECURSIVE t(id, root) AS (
    SELECT id, id FROM organisations WHERE parent_id IS NULL
    UNION ALL SELECT o.id, t.root FROM organisations o JOIN t ON o.parent_id = t.id
), roots AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM organisations
             WHERE parent_id IS NULL)
SELECT m.id, m.external_id, m.branch_id, b.code, t.root, ST_X(m.home), ST_Y(m.home)
FROM members m JOIN t ON t.id = m.branch_id JOIN organisations b ON b.id = m.branch_id
JOIN roots r ON r.id = t.root
WHERE r.n = %s AND m.home IS NOT NULL AND m.status = '正式'
ORDER BY m.id OFFSET %s LIMIT 1
"""


@pytest.fixture(scope="module")
def national_url(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own holding the small national data set, in the default layout."""
    folder = tmp_path_factory.mktemp("national")
    generate_national(SPEC, folder)
    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    url = cluster.url.rsplit("/", 1)[0] + "/" + DB
    geodb.migrate(url)
    load_samples(url, folder, tmp_path_factory.mktemp("pano"), progress=False)
    yield url
    partition.set_partitioned(False)  # the other tests' databases have the default layout
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _client(url: str, principal: Principal) -> TestClient:
    app = create_app(Settings(db=DatabaseSettings(database_url=url)))
    app.dependency_overrides[get_principal] = lambda: principal
    return TestClient(app)


def _member(url: str, province: int, offset: int = 0) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        row = conn.execute(MEMBER_SQL, (province, offset)).fetchone()
    assert row is not None
    keys = ("id", "external_id", "branch", "branch_code", "root", "lon", "lat")
    return dict(zip(keys, row, strict=True))


def _leader_count(url: str, root: int) -> tuple[int, str]:
    """A bound leader's members (RowScope), and the plan that counts them."""
    cond, args = scope_filter_psycopg(Principal(role="leader", org_id=root), "members", alias="t")
    query = f"SELECT count(*) FROM members t WHERE {cond}"
    with psycopg.connect(url) as conn:
        n = conn.execute(query, args).fetchone()[0]  # type: ignore[index]
        plan = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + query, args).fetchall()
    return int(n), "\n".join(r[0] for r in plan)


def answers(url: str, where: dict[str, Any], root: int) -> dict[str, Any]:
    """Row counts, a decoded member_heat tile, /api/nearest, and a bound leader's count."""
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
    tile = TMS.tile(where["lon"], where["lat"], 7)
    with _client(url, Principal(role="leader")) as c:
        wait_built(c, HEAT)
        r = c.get(f"/api/tiles/member_heat/{tile.z}/{tile.x}/{tile.y}.mvt")
        assert r.status_code == 200, r.text
        layer = mapbox_vector_tile.decode(r.content)["member_heat"]["features"]
        heat = sorted((f["properties"]["cell"], f["properties"]["count"]) for f in layer)
        near = c.get("/api/nearest", params={"lon": where["lon"], "lat": where["lat"], "k": 5})
        assert near.status_code == 200, near.text
    assert heat, "the tile holds heat cells"
    return {
        "counts": counts,
        "heat": heat,
        "nearest": near.json(),
        "leader": _leader_count(url, root)[0],
    }


def register_and_check_in(url: str, who: dict[str, Any], code: str) -> int:
    """An activity of the member's branch, here and now; register and check in through the API."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        act = conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom)"
            " VALUES (%s, %s, '主题党日', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
            " RETURNING id",
            (code, f"示例{code}", who["branch"], now - timedelta(hours=1),
             now + timedelta(hours=1), who["lon"], who["lat"]),
        ).fetchone()[0]  # type: ignore[index]  # fmt: skip
    principal = Principal(role="member", member_id=who["id"], org_id=who["branch"])
    with _client(url, principal) as c:
        r = c.post(f"/api/activities/{act}/registrations")
        assert r.status_code == 201, r.text
        r = c.post(f"/api/activities/{act}/checkins", json={"lon": who["lon"], "lat": who["lat"]})
        assert r.status_code == 201, r.text
    return int(act)


def import_members(url: str, tmp: Path, rows: list[dict[str, Any]], name: str) -> Any:
    path = tmp / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return import_file(url, "members", path, progress=False)


def _row(who: dict[str, Any], name: str, branch_code: str | None = None) -> dict[str, Any]:
    return {"external_id": who["external_id"], "name": name,
            "branch_code": branch_code or who["branch_code"], "status": "正式",
            "joined": "2001-07-01", "lon": who["lon"], "lat": who["lat"]}  # fmt: skip


def convert_with_the_cli(url: str) -> None:
    env = {"DJMAP_DATABASE_URL": url}
    dry = CliRunner().invoke(cli, ["db", "partition", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert not partition.read_layout(url), "a dry run changes nothing"
    done = CliRunner().invoke(cli, ["db", "partition"], env=env)
    assert done.exit_code == 0, done.output
    again = CliRunner().invoke(cli, ["db", "partition"], env=env)
    assert again.exit_code == 0 and "already partitioned" in again.output, again.output
    assert partition.read_layout(url)


def check_layout(url: str) -> None:
    """Four partitioned tables; every row in its province's partition; DEFAULT empty."""
    with psycopg.connect(url) as conn:
        parted = {r[0] for r in conn.execute(
            "SELECT partrelid::regclass::text FROM pg_partitioned_table")}  # fmt: skip
        roots = dict(conn.execute(ROOTS_SQL).fetchall())
        stored = dict(conn.execute("SELECT id, province_id FROM organisations").fetchall())
        where = {t: conn.execute(
            f"SELECT tableoid::regclass::text, province_id, count(*) FROM {t} GROUP BY 1, 2"
        ).fetchall() for t in partition.TABLES}  # fmt: skip
        misplaced = conn.execute(MISPLACED_SQL).fetchone()[0]  # type: ignore[index]
        n_parts = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'members'::regclass"
        ).fetchone()[0]  # type: ignore[index]
    assert parted == set(partition.TABLES)
    assert stored == roots and len(set(roots.values())) == SPEC.provinces
    assert n_parts == SPEC.provinces + 1 and misplaced == 0
    for table, rows in where.items():
        assert rows, table
        for part, province, _ in rows:
            assert part == f"{table}_prov_{province}", (table, part, province)
    assert {r[1] for r in where["members"]} == set(roots.values())


def check_member_links(url: str, who: dict[str, Any]) -> None:
    """grids.leader_member_id without its foreign key (links.sql): a missing member refused; a
    deleted member's grids lose their leader, its check-ins and registrations go with it."""
    lon, lat = who["lon"], who["lat"]
    square = f"SRID=4326;MULTIPOLYGON((({lon} {lat},{lon + 0.001} {lat},{lon + 0.001} {lat + 0.001},{lon} {lat})))"
    insert = "INSERT INTO grids (code, name, leader_member_id, geom) VALUES (%s, '示例网格', %s, %s) RETURNING id"
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(insert, ("PT-G0", -1, square))
    with psycopg.connect(url) as conn:
        grid = conn.execute(insert, ("PT-G1", who["id"], square)).fetchone()[0]  # type: ignore[index]
        conn.execute("DELETE FROM members WHERE id = %s", (who["id"],))
        left = conn.execute(
            "SELECT (SELECT leader_member_id FROM grids WHERE id = %s),"
            " (SELECT count(*) FROM checkins WHERE member_id = %s)"
            " + (SELECT count(*) FROM registrations WHERE member_id = %s)",
            (grid, who["id"], who["id"]),
        ).fetchone()
    assert left == (None, 0)


def test_partition_keeps_the_answers_and_the_writes(national_url: str, tmp_path: Path) -> None:
    url = national_url
    a, b = _member(url, 1), _member(url, 2)
    register_and_check_in(url, a, "PT-BEFORE")
    new = {**_row(a, "示例新党员甲"), "external_id": "PT-NEW-1"}
    first = import_members(url, tmp_path, [_row(b, "示例改名甲"), new], "m1.csv")
    assert (first.rows_inserted, first.rows_updated) == (1, 1)
    taken = answers(url, a, a["root"])

    convert_with_the_cli(url)
    check_layout(url)
    after = answers(url, a, a["root"])
    assert after == taken

    n, plan = _leader_count(url, a["root"])
    scanned = re.findall(r"on (members_prov_(?:\d+|default))\b(?!.*never executed)", plan)
    assert n == after["leader"] and set(scanned) == {f"members_prov_{a['root']}"}, plan

    c = _member(url, 2, offset=1)
    register_and_check_in(url, c, "PT-AFTER")  # writes go to the member's province
    move = _row(a, "示例调动", branch_code=b["branch_code"])  # a, checked in: to b's province
    new2 = {**_row(c, "示例新党员乙"), "external_id": "PT-NEW-2"}
    res = import_members(url, tmp_path, [move, _row(c, "示例改名乙"), new2], "m2.csv")
    assert (res.rows_inserted, res.rows_updated) == (1, 2)
    check_layout(url)
    with psycopg.connect(url) as conn:
        where = conn.execute(
            "SELECT (SELECT array_agg(DISTINCT tableoid::regclass::text) FROM members"
            "        WHERE external_id = %s),"
            " (SELECT array_agg(DISTINCT tableoid::regclass::text) FROM checkins WHERE member_id = %s),"
            " (SELECT array_agg(DISTINCT tableoid::regclass::text) FROM registrations"
            "        WHERE member_id = %s)",
            (a["external_id"], a["id"], a["id"]),
        ).fetchone()
        moved = conn.execute("SELECT count(*) FROM members").fetchone()[0]  # type: ignore[index]
    assert where == tuple(
        [f"{t}_prov_{b['root']}"] for t in ("members", "checkins", "registrations")
    )
    assert moved == after["counts"]["members"] + 1
    check_member_links(url, c)
