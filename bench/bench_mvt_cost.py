"""Where a point tile's SQL time goes: the tile statement djmap runs, and the same statement
without its exact edge test, without its properties, and reduced to the index scan.

Runs on the tile benchmark's database (loaded as `bench/bench_tiles.py --data D` loads it, when it
holds other points) over one asyncpg connection, the tiles of the benchmark's seeded list at one zoom, every
variant `--rounds` times interleaved; prints the median ms per tile of each.

Usage: .venv/bin/python bench/bench_mvt_cost.py [--data generator|blobs|uniform] [--zoom 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tiles_data import LAYER, bench_url, load_points, tile_list  # noqa: E402

from geo.settings import get_db_settings  # noqa: E402
from layers import catalog  # noqa: E402
from tiles.mvt import TileRequest, points_args, points_statement  # noqa: E402

EDGES = "AND ST_X(t.geom) >= $1 AND ST_X(t.geom) < $3\n          AND ST_Y(t.geom) > $2 AND ST_Y(t.geom) <= $4"


def variants() -> dict[str, str]:
    """Statement variants, from the one djmap runs down to the bare index scan."""
    full = points_statement(LAYER, "public")
    start, end = full.index(" AS geom") + len(" AS geom"), full.index("FROM service_points")
    no_props = full[:start] + "\n        " + full[end:]
    assert EDGES in full, "the point statement changed; update bench_mvt_cost.py"
    return {
        "tile statement (public properties)": full,
        "without the exact edge test": full.replace(EDGES, ""),
        "without properties (id + geometry)": no_props,
        "index scan + edge test (count)": (
            "SELECT count(*) FROM service_points AS t "
            "WHERE t.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) " + EDGES
        ),
        "index scan only (count)": (
            "SELECT count(*) FROM service_points AS t "
            "WHERE t.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)"
        ),
    }


async def run(url: str, zoom: int, rounds: int) -> None:
    """Time every variant over the zoom's tiles, interleaved, and print the medians."""
    layer = catalog.get(LAYER)
    tiles = tile_list(zoom, 50, 20261124)
    conn = await asyncpg.connect(url)
    await conn.execute("SET jit = off")
    prepared = {name: await conn.prepare(sql) for name, sql in variants().items()}
    times: dict[str, list[float]] = {name: [] for name in prepared}
    for _ in range(rounds):
        for name, stmt in prepared.items():
            n = len(stmt.get_parameters())
            t0 = time.perf_counter()
            for t in tiles:
                await stmt.fetchval(*points_args(TileRequest(layer, t.z, t.x, t.y))[:n])
            times[name].append((time.perf_counter() - t0) / len(tiles) * 1000)
    await conn.close()
    print(f"z{zoom}, {len(tiles)} tiles, median of {rounds} rounds (ms per tile):")
    for name, values in times.items():
        print(f"  {name:40s} {statistics.median(values):7.3f}")


def main() -> None:
    """Parse the arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--zoom", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data", choices=("generator", "blobs", "uniform"), default="generator")
    args = ap.parse_args()
    url = bench_url(get_db_settings().url)
    load_points(url, 1_000_000, 20261124, args.data)
    asyncio.run(run(url, args.zoom, args.rounds))


if __name__ == "__main__":
    main()
