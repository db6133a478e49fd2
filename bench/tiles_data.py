"""The tile benchmark's data, tile lists and floors (bench/bench_tiles.py).

Data sets (`--data`), each kept in the benchmark's own database (`<dbname>_tiles_bench`) and
marked by a table comment so it is loaded once:
- `generator`: the sample generator's service points (every field), imported with `djmap import`;
- `blobs`: bare points (code, name, kind) in 40 Gaussian blobs plus a uniform scatter;
- `uniform`: bare points spread uniformly over the district box (so every listed tile is dense:
  ~820 points per z16 tile, ~13,000 per z14 tile).
Floors: the statement djmap runs for each tile (`TileRenderer.plan`) and, as a reference, a plain
`ST_AsMVT` of the tile's rows over the table (bench/plain_tile.sql: no cluster tables, no guard),
both timed in Python over asyncpg.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import morecantile
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import db as geodb  # noqa: E402
from geo.ingest import import_file  # noqa: E402
from geo.samples.generate import SampleSpec, generate  # noqa: E402
from layers import catalog  # noqa: E402
from layers.base import fields_for  # noqa: E402
from tiles.mvt import TileRequest  # noqa: E402
from tiles.seed import cli_service, prepare  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")
BBOX = (120.132361, 30.195141, 120.291016, 30.395965)  # 上城区 sample district
KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")
LAYER = "service_points"
DATA = ("generator", "blobs", "uniform")
Plan = tuple[str, list[object]] | None


def bench_url(base: str, suffix: str = "") -> str:
    """The benchmark database on the server in use (created and migrated when missing);
    `suffix` names another one (an older checkout's run keeps its own)."""
    head, _, name = base.rpartition("/")
    name = name.split("?")[0] + "_tiles_bench" + suffix
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    return url


def make_points(n: int, seed: int, data: str = "blobs") -> np.ndarray:
    """n (lon, lat) points in Z-order: `blobs` = 70 % in 40 Gaussian blobs and 30 % uniform over
    the district box; `uniform` = all uniform over it."""
    rng = np.random.default_rng(seed)
    w, s, e, nn = BBOX
    if data == "uniform":
        pts = rng.uniform((w, s), (e, nn), size=(n, 2))
    else:
        blobs = rng.uniform((w, s), (e, nn), size=(40, 2))
        sigma = rng.uniform(0.002, 0.012, size=40)
        k = int(n * 0.7)
        which = rng.integers(0, 40, size=k)
        dense = blobs[which] + rng.normal(size=(k, 2)) * sigma[which, None]
        sparse = rng.uniform((w, s), (e, nn), size=(n - k, 2))
        pts = np.clip(np.vstack([dense, sparse]), (w, s), (e, nn))
    return pts[np.argsort(morton(pts), kind="stable")]


def morton(pts: np.ndarray) -> np.ndarray:
    """Z-order keys of points in the district box (rows stored in this order, as after CLUSTER)."""
    w, s, e, n = BBOX
    q = ((pts - (w, s)) / (e - w, n - s) * 65535).astype(np.uint64)
    key = np.zeros(len(pts), dtype=np.uint64)
    for bit in range(16):
        key |= ((q[:, 0] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
        key |= ((q[:, 1] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
    return key


def load_points(url: str, n: int, seed: int, data: str = "generator", reload: bool = False) -> None:
    """Fill service_points with the data set unless it already holds it (table comment)."""
    mark = f"bench:{data}:{n}:{seed}"
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT obj_description('service_points'::regclass)").fetchone()
        if row and row[0] == mark and not reload:
            return
        if data == "generator":
            load_generated(conn, url, n, seed)
        else:
            load_bare(conn, n, seed, data)
        conn.execute(f"COMMENT ON TABLE service_points IS '{mark}'")


def load_generated(conn: psycopg.Connection, url: str, n: int, seed: int) -> None:
    """The sample generator's n service points (in its 100,000-building district), imported."""
    folder = Path(tempfile.gettempdir()) / f"djmap-bench-samples-{n}-{seed}"
    if not (folder / "service_points.csv").exists():
        print(f"generating {n:,} service points with the sample generator …", flush=True)
        spec = SampleSpec(
            seed=seed,
            today="2026-11-24",
            members=1,
            buildings=100_000,
            service_points=n,
            activities=0,
            panoramas=0,
        )
        generate(spec, folder)
    conn.execute("TRUNCATE service_points, organisations, buildings RESTART IDENTITY CASCADE")
    for kind, name in (
        ("buildings", "buildings.geojson"),
        ("organisations", "organisations.csv"),
        ("service-points", "service_points.csv"),
    ):
        result = import_file(url, kind, folder / name, progress=True)
        print(f"imported {result.rows_inserted:,} {kind}", flush=True)
    # Stored in spatial order, as an operator would after a bulk load (both servers read it alike).
    conn.execute("CLUSTER service_points USING service_points_geom_gist")
    conn.execute("VACUUM ANALYZE service_points")


def load_bare(conn: psycopg.Connection, n: int, seed: int, data: str) -> None:
    """n points (make_points) with 5 columns: id, code, name, kind, geom."""
    print(f"loading {n:,} {data} points …", flush=True)
    pts = make_points(n, seed, data)
    kinds = np.random.default_rng(seed + 1).integers(0, 4, size=n)
    conn.execute("TRUNCATE service_points RESTART IDENTITY CASCADE")
    conn.execute("DROP INDEX IF EXISTS service_points_geom_gist")
    with conn.cursor().copy("COPY service_points (code, name, kind, geom) FROM STDIN") as cp:
        for i in range(n):
            lon, lat = pts[i]
            cp.write_row(
                (
                    f"SP{i:07d}",
                    f"党群服务点{i}",
                    KINDS[kinds[i]],
                    f"SRID=4326;POINT({lon:.7f} {lat:.7f})",
                )
            )
    conn.execute("CREATE INDEX service_points_geom_gist ON service_points USING gist (geom)")
    conn.execute("VACUUM ANALYZE service_points")


def tile_list(zoom: int, count: int, seed: int) -> list[morecantile.Tile]:
    """The tiles under `count` seeded uniform positions in the district box."""
    rng = np.random.default_rng(seed + zoom)
    w, s, e, n = BBOX
    return [
        TMS.tile(float(x), float(y), zoom) for x, y in rng.uniform((w, s), (e, n), size=(count, 2))
    ]


def source_count(url: str, tile: morecantile.Tile) -> int:
    """Source points in the tile (half-open, as the tiles partition them)."""
    b = TMS.bounds(tile)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM service_points WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
            "AND ST_X(geom) >= %s AND ST_X(geom) < %s AND ST_Y(geom) > %s AND ST_Y(geom) <= %s",
            (b.left, b.bottom, b.right, b.top, b.left, b.right, b.bottom, b.top),
        ).fetchone()
    return int(row[0]) if row else 0


async def prepare_and_plan(url: str, tiles: list[morecantile.Tile]) -> list[Plan]:
    """Build the cluster tables, then the statement djmap runs for each tile."""
    layer = catalog.get(LAYER)
    async with cli_service(url, None, (layer,)) as service:
        await prepare(service, layer)
        token = await service.token(layer)
        plans: list[Plan] = []
        for t in tiles:
            plan = service.renderer.plan(TileRequest(layer, t.z, t.x, t.y), token)
            plans.append(None if plan is None else (plan[1], plan[2]))
        return plans


PLAIN_MINZOOM = 14  # below it a plain tile holds up to every row (seconds per statement)


def plain_plans(tiles: list[morecantile.Tile]) -> list[Plan]:
    """The plain-table reference: one `ST_AsMVT` of each tile's rows with the public fields
    (none below PLAIN_MINZOOM)."""
    if tiles and tiles[0].z < PLAIN_MINZOOM:
        return []
    cols = ", ".join(f.expr for f in fields_for(catalog.get(LAYER), "public"))
    text = (ROOT / "bench" / "plain_tile.sql").read_text()
    assert f"SELECT {cols}," in text, "the public fields changed: update bench/plain_tile.sql"
    return [(text, [t.z, t.x, t.y]) for t in tiles]


async def floor(url: str, plans: list[Plan], conc: int, seconds: float) -> dict[str, float]:
    """Run the statements (cycling) on `conc` connections for `seconds`; latency per statement."""
    conns = [await asyncpg.connect(url) for _ in range(conc)]
    for c in conns:
        await c.execute("SET jit = off")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    nxt = 0

    async def loop(conn: asyncpg.Connection) -> None:
        nonlocal nxt
        while time.perf_counter() < deadline:
            plan = plans[nxt % len(plans)]
            nxt += 1
            t0 = time.perf_counter()
            if plan is not None:
                await conn.fetchval(plan[0], *plan[1])
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    return summarise(latencies, elapsed)


def summarise(latencies: list[float], elapsed: float) -> dict[str, float]:
    """req/s and p50/p95/p99 in ms."""
    q = np.percentile(np.asarray(latencies) * 1000, [50, 95, 99])
    return {"rps": len(latencies) / elapsed, "p50_ms": q[0], "p95_ms": q[1], "p99_ms": q[2]}
