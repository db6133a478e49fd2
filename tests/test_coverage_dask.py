"""Coverage on Dask equals coverage in one process, on the sample district (issue 15 §3).

The Dask path (geo/analysis/coverage_dask.py, geo/analysis/spread_dask.py) runs on a LocalCluster
of one worker thread here; `bench/bench_dask.py` compares the two at 1,000,000 members with
worker processes. Each comparison is of the whole published result (summary, cells, service
areas, proposals), after clearing the spread cache so that both paths build their own atoms.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.analysis import coverage as core
from geo.analysis import member_demand, partitions
from geo.analysis.dask_cluster import DaskSettings, dask_client, use_dask
from geo.analysis.scoping import province
from geo.db import Direct
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal

ADMIN = Principal(role="admin")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of one worker thread (starts in about a second)."""
    with dask_client(DaskSettings(workers=1, processes=False)) as c:
        yield c


def _both(url: str, req: core.CoverageRequest, principal: Principal, client: Any) -> tuple:
    member_demand._cache.clear()
    local = core.run(Direct(url), req, principal)
    member_demand._cache.clear()
    on_dask = core.run(Direct(url), req, principal, client=client)
    return local, on_dask


def _top_code(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT code FROM organisations WHERE parent_id IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize(
    "req",
    [
        core.CoverageRequest(meters=800),
        core.CoverageRequest(minutes=10, weight="population", propose=3),
        core.CoverageRequest(meters=600, mode="walk", propose=2),
    ],
    ids=["straight-members", "straight-population-propose", "walk-members-propose"],
)
def test_dask_equals_local(sample_url: str, client: Any, req: core.CoverageRequest) -> None:
    local, on_dask = _both(sample_url, req, ADMIN, client)
    assert local["summary"]["count_total"] > 0
    assert 0 < local["summary"]["count_covered"] < local["summary"]["count_total"]
    assert on_dask == local


def test_small_cells_cross_halos(
    sample_url: str, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions of H3 res 8 (about 0.7 km²), far smaller than the 800 m radius: most points
    find their site in a neighbouring cell's ground, through the halo."""
    monkeypatch.setattr(partitions, "PART_RES", 8)
    with psycopg.connect(sample_url) as conn:
        lon, lat = conn.execute(
            "SELECT array_agg(ST_X(ST_PointOnSurface(geom))), array_agg(ST_Y(ST_PointOnSurface(geom))) FROM buildings"
        ).fetchone()
    import numpy as np

    assert len(set(partitions.part_cells(np.array(lon), np.array(lat)).tolist())) > 10
    local, on_dask = _both(sample_url, core.CoverageRequest(meters=800), ADMIN, client)
    assert on_dask == local


def test_province_scope(sample_url: str, client: Any) -> None:
    """A province (a top-level organisation) counts its subtree's members only, on both paths."""
    with psycopg.connect(sample_url) as conn:
        scope = province(conn, _top_code(sample_url))
        with pytest.raises(NotFound):
            province(conn, "no-such-org")
        child = conn.execute(
            "SELECT code FROM organisations WHERE parent_id IS NOT NULL LIMIT 1"
        ).fetchone()
        with pytest.raises(InvalidInput):
            province(conn, child[0])
    req = core.CoverageRequest(meters=800)
    local, on_dask = _both(sample_url, req, scope, client)
    everyone = core.run(Direct(sample_url), req, ADMIN)
    assert 0 < local["summary"]["count_total"] < everyone["summary"]["count_total"]
    assert local["summary"]["count_total"] % 10 == 0
    assert on_dask == local


def test_engine_choice() -> None:
    small = DaskSettings(min_members=1000)
    assert use_dask("auto", 999, small) is False
    assert use_dask("auto", 1000, small) is True
    assert use_dask("local", 10**9, small) is False
    assert use_dask("dask", 0, small) is True
    with pytest.raises(InvalidInput):
        use_dask("spark", 0)


def test_cli_engines_write_the_same_files(
    sample_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`djmap coverage --province CODE --engine local|dask` write the same GeoJSON and CSV."""
    monkeypatch.setenv("DJMAP_DATABASE_URL", sample_url)
    monkeypatch.setenv("DJMAP_DASK_WORKERS", "1")
    monkeypatch.setenv("DJMAP_DASK_PROCESSES", "false")
    code = _top_code(sample_url)
    runner = CliRunner()
    for engine in ("local", "dask"):
        member_demand._cache.clear()
        args = ["coverage", "--province", code, "--engine", engine, "--meters", "800",
                "--out", str(tmp_path / engine)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    for name in ("coverage.geojson", "coverage.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()
    doc = json.loads((tmp_path / "dask" / "coverage.geojson").read_text(encoding="utf-8"))
    assert doc["summary"]["count_total"] % 10 == 0
    bad = runner.invoke(app, ["coverage", "--province", code, "--engine", "spark"])
    assert bad.exit_code == 1 and "unknown engine" in bad.output


def test_shuffled_partitions_come_back_as_geometry() -> None:
    """A worker's shuffled partition as pandas, with shapely objects or WKB (P2P shuffle)."""
    import pandas as pd
    from shapely.geometry import Point

    from geo.analysis.coverage_dask import _geo

    for value in (Point(120.5, 30.25), Point(120.5, 30.25).wkb):
        part = _geo(pd.DataFrame({"i": [7], "geometry": [value], "part": [1]}))
        assert (part.geometry.x.tolist(), part.geometry.y.tolist(), part["i"].tolist()) == (
            [120.5],
            [30.25],
            [7],
        )
