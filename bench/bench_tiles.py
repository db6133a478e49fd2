"""Vector-tile benchmark (issue 3 §7): the floor, tipg and djmap on 1,000,000 points.

Data (`--data`, kept between runs in a database of its own, `<dbname>_tiles_bench`):
- `generator` (default, as the issue asks): `djmap samples generate --service-points 1000000
  --buildings 100000` (the sample generator: every point in a building of the 上城区 sample
  district, with all the fields a service point has), loaded with `djmap import` (geo.ingest) and
  stored in spatial order (`CLUSTER … USING` the GiST index), which both servers read alike;
- `blobs`: bare points (code, name, kind) in 40 Gaussian blobs plus a uniform scatter over the
  district's box, denser per tile.
Tiles: a fixed, seeded list per zoom (8, 11, 14, 16) of the tiles under uniform random positions in
the district's box. For each zoom and concurrency (1, 8):
- floor: the exact statement djmap runs for each tile (`TileRenderer.plan`: a read of the cluster
  tables or the point statement; nothing for a tile the tables know is empty), timed in Python over
  one asyncpg connection (8 connections at concurrency 8);
- tipg (PyPI, its own venv, defaults, one uvicorn process) on the same table;
- djmap, cold (DJMAP_TILE_CACHE=off; cluster tables built beforehand, as allowed) and warm
  (cache on, every tile requested once first), served by bench/serve_reuseport.py, with data
  versions read per request (strict, the default) and kept by LISTEN/NOTIFY (notify).
Throughput and latency come from wrk (bench/tiles.lua cycles the list, Accept-Encoding: gzip).
Per zoom it also reports tile bytes (gzip on the wire and raw MVT), the share of the source points
in each tile that the tile's features account for (clusters count their members), and the latency
djmap adds over the floor at concurrency 1, tile by tile (median of `--reps` requests on one
keep-alive connection minus the median of as many runs of the tile's statement; p50 and p90 over
the tiles of the list).

Usage: .venv/bin/python bench/bench_tiles.py [--points 1000000] [--seconds 5] [--workers 2]
       [--data generator|blobs] [--zooms 8,11,14,16] [--reps 15]
       [--tipg-python /tmp/tipgvenv/bin/python] [--skip-tipg] [--out test-output/bench_tiles.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg
import mapbox_vector_tile
import morecantile
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import db as geodb  # noqa: E402
from geo.ingest import import_file  # noqa: E402
from geo.samples.generate import SampleSpec, generate  # noqa: E402
from geo.settings import get_db_settings  # noqa: E402
from layers import catalog  # noqa: E402
from tiles.mvt import TileRequest  # noqa: E402
from tiles.seed import cli_service, prepare  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")
BBOX = (120.132361, 30.195141, 120.291016, 30.395965)  # 上城区 sample district
KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")
LAYER = "service_points"
ZOOMS = (8, 11, 14, 16)


def bench_url(base: str) -> str:
    """The benchmark database on the server in use (created and migrated when missing)."""
    head, _, name = base.rpartition("/")
    name = name.split("?")[0] + "_tiles_bench"
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    return url


def make_points(n: int, seed: int) -> np.ndarray:
    """n (lon, lat) points: 70 % in 40 Gaussian blobs, 30 % uniform over the district box."""
    rng = np.random.default_rng(seed)
    w, s, e, nn = BBOX
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
    """Fill service_points with n seeded points unless it already holds them (marked by a table
    comment): `generator` = `djmap samples generate --service-points n` imported with
    `djmap import` (geo.ingest) as a user would; `blobs` = the synthetic blobs of make_points."""
    mark = f"bench:{data}:{n}:{seed}"
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT obj_description('service_points'::regclass)").fetchone()
        if row and row[0] == mark and not reload:
            return
        if data == "generator":
            load_generated(conn, url, n, seed)
        else:
            load_blobs(conn, n, seed)
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


def load_blobs(conn: psycopg.Connection, n: int, seed: int) -> None:
    """n points in 40 Gaussian blobs plus a uniform scatter, with code, name and kind only."""
    print(f"loading {n:,} points …", flush=True)
    pts = make_points(n, seed)
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


async def prepare_and_plan(
    url: str, tiles: list[morecantile.Tile]
) -> list[tuple[str, list[object]] | None]:
    """Build the cluster tables, then the statement djmap runs for each tile."""
    layer = catalog.get(LAYER)
    async with cli_service(url, None, (layer,)) as service:
        await prepare(service, layer)
        token = await service.token(layer)
        plans = []
        for t in tiles:
            plan = service.renderer.plan(TileRequest(layer, t.z, t.x, t.y), token)
            plans.append(None if plan is None else (plan[1], plan[2]))
        return plans


async def floor(
    url: str, plans: list[tuple[str, list[object]] | None], conc: int, seconds: float
) -> dict[str, float]:
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


async def floor_per_tile(
    url: str, plans: list[tuple[str, list[object]] | None], reps: int
) -> list[float]:
    """Median time (ms) of each tile's statement over `reps` runs on one connection."""
    conn = await asyncpg.connect(url)
    await conn.execute("SET jit = off")
    out = []
    for plan in plans:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            if plan is not None:
                await conn.fetchval(plan[0], *plan[1])
            times.append(time.perf_counter() - t0)
        out.append(statistics.median(times) * 1000)
    await conn.close()
    return out


def http_per_tile(port: int, paths: list[str], reps: int) -> list[float]:
    """Median time (ms) of each tile's request over `reps` on one keep-alive connection (gzip)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for path in paths:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            resp.read()
            times.append(time.perf_counter() - t0)
            assert resp.status == 200, (path, resp.status)
        out.append(statistics.median(times) * 1000)
    conn.close()
    return out


def added_latency(http_ms: list[float], floor_ms: list[float]) -> dict[str, float]:
    """Per-tile latency added over the floor at concurrency 1 (median and 90th percentile)."""
    added = np.asarray(http_ms) - np.asarray(floor_ms)
    return {
        "added_p50_ms": float(np.median(added)),
        "added_p90_ms": float(np.percentile(added, 90)),
        "floor_tile_p50_ms": float(np.median(floor_ms)),
    }


def summarise(latencies: list[float], elapsed: float) -> dict[str, float]:
    """req/s and p50/p95/p99 in ms."""
    q = np.percentile(np.asarray(latencies) * 1000, [50, 95, 99])
    return {"rps": len(latencies) / elapsed, "p50_ms": q[0], "p95_ms": q[1], "p99_ms": q[2]}


def wait_http(url: str, timeout: float = 60) -> None:
    """Wait until `url` answers 200."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def start_djmap(
    url: str, port: int, workers: int, cache: str, home: Path, freshness: str
) -> subprocess.Popen[bytes]:
    """djmap on `port` (bench/serve_reuseport.py)."""
    env = {
        **os.environ,
        "DJMAP_DATABASE_URL": url,
        "DJMAP_TILE_CACHE": cache,
        "DJMAP_HOME": str(home),
        "DJMAP_TILE_FRESHNESS": freshness,
    }
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "serve_reuseport.py"),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    wait_http(f"http://127.0.0.1:{port}/api/health")
    return proc


def ensure_tipg(python: str) -> None:
    """Install tipg from PyPI into its own venv (never into djmap's) when missing."""
    if Path(python).exists():
        return
    venv = Path(python).parent.parent
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"], check=True)


def start_tipg(python: str, url: str, port: int) -> subprocess.Popen[bytes]:
    """tipg with its defaults (one uvicorn process) on `port`."""
    ensure_tipg(python)
    env = {**os.environ, "DATABASE_URL": url}
    cmd = [
        python,
        "-m",
        "uvicorn",
        "tipg.main:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir())
    wait_http(f"http://127.0.0.1:{port}/collections")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started here."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_wrk(port: int, paths: list[str], conc: int, seconds: float) -> dict[str, float]:
    """wrk against the paths (cycled), one thread, `conc` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    env = {**os.environ, "TILE_LIST": f.name}
    cmd = [
        "wrk",
        "-t1",
        f"-c{conc}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / "tiles.lua"),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    return dict(json.loads(line))


def fetch(port: int, path: str) -> tuple[bytes, int]:
    """(raw MVT, bytes on the wire) of one tile, asking for gzip."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        body = r.read()
        zipped = r.headers.get("Content-Encoding") == "gzip"
    return (gzip.decompress(body) if zipped else body), len(body)


def accounted(raw: bytes) -> int:
    """Source features a tile accounts for (a cluster counts its members)."""
    if not raw:
        return 0
    total = 0
    for layer in mapbox_vector_tile.decode(raw).values():
        for f in layer["features"]:
            p = f["properties"]
            total += int(p["count"]) if p.get("cluster") else 1
    return total


def quality(
    port: int, paths: list[str], tiles: list[morecantile.Tile], counts: dict[morecantile.Tile, int]
) -> dict[str, float]:
    """Mean wire/raw bytes, max raw bytes and accounted share over the distinct tiles of a list."""
    wire, raw_sizes, shares = [], [], []
    seen = set()
    for path, tile in zip(paths, tiles, strict=True):
        if tile in seen:
            continue
        seen.add(tile)
        raw, n = fetch(port, path)
        wire.append(n)
        raw_sizes.append(len(raw))
        if counts[tile]:
            shares.append(min(accounted(raw), counts[tile]) / counts[tile])
    return {
        "wire_kb": statistics.mean(wire) / 1024,
        "raw_kb": statistics.mean(raw_sizes) / 1024,
        "max_raw_kb": max(raw_sizes) / 1024,
        "accounted_min": min(shares) if shares else 1.0,
        "accounted_mean": statistics.mean(shares) if shares else 1.0,
    }


def machine() -> str:
    """One line naming the machine."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    """Run the benchmark and print a markdown table (JSON in --out)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--tiles", type=int, default=50, help="tiles per zoom in the list")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--zooms", default=",".join(map(str, ZOOMS)))
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--tipg-python", default="/tmp/tipgvenv/bin/python")
    ap.add_argument("--skip-tipg", action="store_true")
    ap.add_argument("--reps", type=int, default=15, help="runs per tile for per-tile latency")
    ap.add_argument("--reload", action="store_true", help="reload the points even if present")
    ap.add_argument(
        "--data",
        choices=("generator", "blobs"),
        default="generator",
        help="generator: the sample generator's service points (default); blobs: bare synthetic points",
    )
    ap.add_argument("--freshness", default="strict,notify", help="djmap DJMAP_TILE_FRESHNESS modes")
    ap.add_argument("--out", type=Path, default=ROOT / "test-output" / "bench_tiles.json")
    args = ap.parse_args()
    zooms = [int(z) for z in args.zooms.split(",")]
    concs = [int(c) for c in args.concurrency.split(",")]

    base = get_db_settings().url
    geodb.ensure_database(get_db_settings())
    url = bench_url(base)
    load_points(url, args.points, args.seed, args.data, args.reload)
    lists = {z: tile_list(z, args.tiles, args.seed) for z in zooms}
    counts = {t: source_count(url, t) for ts in lists.values() for t in set(ts)}
    results: dict[str, object] = {
        "machine": machine(),
        "points": args.points,
        "seconds": args.seconds,
        "workers": args.workers,
        "rows": [],
    }
    rows: list[dict[str, object]] = results["rows"]  # type: ignore[assignment]

    t0 = time.perf_counter()
    plans = {z: asyncio.run(prepare_and_plan(url, lists[z])) for z in zooms}
    results["cluster_tables_s"] = time.perf_counter() - t0
    floor_tiles = {z: asyncio.run(floor_per_tile(url, plans[z], args.reps)) for z in zooms}
    for z in zooms:
        for c in concs:
            rows.append(
                {
                    "server": "floor",
                    "zoom": z,
                    "conc": c,
                    **asyncio.run(floor(url, plans[z], c, args.seconds)),
                }
            )
            print(rows[-1], flush=True)

    djmap_paths = {
        z: [f"/api/tiles/{LAYER}/{t.z}/{t.x}/{t.y}.mvt" for t in lists[z]] for z in zooms
    }
    servers: list[tuple[str, dict[int, list[str]]]] = []
    if not args.skip_tipg:
        tipg_paths = {
            z: [
                f"/collections/public.{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
                for t in lists[z]
            ]
            for z in zooms
        }
        servers.append(("tipg", tipg_paths))
    for freshness in args.freshness.split(","):
        suffix = "" if freshness == "strict" else f" ({freshness})"
        servers += [(f"djmap cold{suffix}", djmap_paths), (f"djmap warm{suffix}", djmap_paths)]
    port = 8190
    for name, paths in servers:
        port += 1
        home = Path(tempfile.mkdtemp(prefix="djmap-bench-"))
        if name == "tipg":
            proc = start_tipg(args.tipg_python, url, port)
        else:
            freshness = "notify" if "notify" in name else "strict"
            cache = "off" if "cold" in name else "on"
            proc = start_djmap(url, port, args.workers, cache, home, freshness)
        try:
            run_wrk(port, [p for z in zooms for p in paths[z]], 8, 2)  # every process up and warm
            time.sleep(3)  # let the warm-up's last requests drain
            for z in zooms:
                q = quality(port, paths[z], lists[z], counts)  # also fills the tile cache
                if name.startswith("djmap"):
                    settle = time.perf_counter() + 3  # past the transient after the c=8 runs
                    while time.perf_counter() < settle:
                        http_per_tile(port, paths[z], 1)
                    per_tile = http_per_tile(port, paths[z], args.reps)
                    q = {**q, **added_latency(per_tile, floor_tiles[z])}
                for c in concs:
                    rows.append(
                        {
                            "server": name,
                            "zoom": z,
                            "conc": c,
                            **run_wrk(port, paths[z], c, args.seconds),
                            **q,
                        }
                    )
                    print(rows[-1], flush=True)
        finally:
            stop(proc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=float))
    print(table(results))


def table(results: dict[str, object]) -> str:
    """The markdown table of a run."""
    lines = [
        "| server | zoom | conc | req/s | p50 ms | p95 ms | p99 ms | wire KB | raw KB (max) | accounted | added p50 (p90) ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:  # type: ignore[attr-defined]
        acc = (
            f"{r['accounted_min'] * 100:.1f}–{r['accounted_mean'] * 100:.1f} %"
            if "accounted_min" in r
            else "—"
        )
        size = f"{r['raw_kb']:.1f} ({r['max_raw_kb']:.0f})" if "raw_kb" in r else "—"
        wire = f"{r['wire_kb']:.1f}" if "wire_kb" in r else "—"
        added = (
            f"{r['added_p50_ms']:.2f} ({r['added_p90_ms']:.2f})"
            if "added_p50_ms" in r and r["conc"] == 1
            else "—"
        )
        lines.append(
            f"| {r['server']} | {r['zoom']} | {r['conc']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {wire} | {size} | {acc} | {added} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
