"""Coverage per 党建网格 kept fresh (issue 14 §4): a grid drawn through the API gets its coverage
from the derived build (tiles/grid_coverage_build.py, GET /api/builds) without `djmap grids
coverage`, and the figures are those the CLI computes (running it afterwards writes nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from builds import builds_status, wait_built
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees
from test_grid_writes import ITEMS, LAT, LON, grid
from typer.testing import CliRunner

from api.cli import app as cli
from tiles.grid_coverage_build import GRID_COVERAGE

KEY = "grid-coverage-build-key-" + "c" * 32
ROWS = (
    "SELECT g.code, c.minutes, c.mode, c.buildings, c.buildings_covered, c.members, "
    "c.members_covered FROM grid_coverage c JOIN grids g ON g.id = c.grid_id ORDER BY g.code"
)
VERSION = "SELECT version FROM data_versions WHERE table_name = 'grid_coverage'"


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    with psycopg.connect(clean_db) as conn:
        for k in range(6):  # homes inside the grid drawn below
            x, y = LON + 0.001 * (k + 1), LAT + 0.002
            conn.execute(
                "INSERT INTO buildings (code, use, height_m, floors, geom) VALUES "
                "(%s, '住宅', 18, 6, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
                (f"gb{k}", x, y, x + 0.0002, y + 0.0002),
            )
    yield from api_client(clean_db, KEY)


def _rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(ROWS).fetchall()]


def test_a_drawn_grid_gets_its_coverage_from_the_build(client: TestClient, clean_db: str) -> None:
    assert _rows(clean_db) == []
    before = builds_status(client)[GRID_COVERAGE]
    assert before["kind"] == "grid_coverage"
    r = client.post(ITEMS, json=grid(branch_code="B-B"), headers=bearer(client, "admin"))
    assert r.status_code == 201, r.text
    status = wait_built(client, GRID_COVERAGE, write=False)  # the write started it, not a GET
    assert status[GRID_COVERAGE]["wanted_version"] != before["wanted_version"]
    built = _rows(clean_db)
    assert [(code, minutes, mode) for code, minutes, mode, *_ in built] == [("GB-1", 15.0, "walk")]
    assert built[0][3] == 6  # its six buildings
    with psycopg.connect(clean_db) as conn:
        version = conn.execute(VERSION).fetchone()
    run = CliRunner().invoke(cli, ["grids", "coverage"], env={"DJMAP_DATABASE_URL": clean_db})
    assert run.exit_code == 0, run.output
    assert _rows(clean_db) == built  # the CLI computes the same figures
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(VERSION).fetchone() == version  # and so writes nothing
