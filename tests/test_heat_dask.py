"""Heat builds on Dask (tiles/heat_dask.py) publish the same cells as in one process (issue 15 §3).

A LocalCluster of one worker thread stands for the scheduler `DJMAP_DASK_SCHEDULER` names; the
build counts its first points here and sends the other chunks to the cluster.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import asyncpg
import psycopg
import pytest

from tiles import heat, heat_dask

LAYER = "member_heat"
CELLS_SQL = "SELECT res, cell, merged, count FROM heat_cells WHERE layer = $1 ORDER BY 1, 2, 3"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address
    for client in heat_dask._clients.values():
        client.close()
    heat_dask._clients.clear()


def _members(url: str, n: int) -> None:
    rng = random.Random(3)
    centres = [(116.30 + 0.05 * i, 39.85 + 0.03 * (i % 3)) for i in range(6)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) "
            "VALUES ('o1', '支部', '党支部', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326))"
        )
        with conn.cursor().copy(
            "COPY members (external_id, name, branch_id, status, home) FROM STDIN"
        ) as cp:
            for i in range(n):
                cx, cy = centres[i % len(centres)]
                lon, lat = cx + rng.gauss(0, 0.004), cy + rng.gauss(0, 0.004)
                cp.write_row((f"m{i}", f"党员{i}", 1, "正式", f"SRID=4326;POINT({lon} {lat})"))


async def _build(url: str) -> list[tuple[Any, ...]]:
    from layers.registry import get

    layer = get(LAYER)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        await pool.execute("DELETE FROM heat_cells WHERE layer = $1", LAYER)
        await pool.execute("DELETE FROM heat_state WHERE layer = $1", LAYER)
        await heat.ensure_built(pool, layer, "none yet")
        return [tuple(r) for r in await pool.fetch(CELLS_SQL, LAYER)]
    finally:
        await pool.close()


def test_heat_on_dask_equals_local(
    clean_db: str, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _members(clean_db, 3000)
    monkeypatch.setattr(heat, "CHUNK", 250)  # 12 chunks
    monkeypatch.delenv("DJMAP_DASK_SCHEDULER", raising=False)
    local = asyncio.run(_build(clean_db))
    assert local and sum(c for res, _, merged, c in local if res == 0 and not merged) > 0

    used: list[heat_dask.ChunkCounter] = []
    made = heat_dask.counter

    def spy(settings: Any = None) -> heat_dask.ChunkCounter | None:
        found = made(settings)
        if found is not None:
            used.append(found)
        return found

    monkeypatch.setattr(heat_dask, "counter", spy)
    monkeypatch.setenv("DJMAP_DASK_SCHEDULER", scheduler)
    monkeypatch.setenv("DJMAP_DASK_HEAT_MIN_POINTS", "1000")
    on_dask = asyncio.run(_build(clean_db))
    assert len(used) == 1 and used[0].remote_chunks == 8  # 4 chunks here, 8 on the cluster
    assert on_dask == local


def test_no_scheduler_no_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJMAP_DASK_SCHEDULER", raising=False)
    assert heat_dask.counter() is None
