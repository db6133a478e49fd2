"""Vector-tile benchmark (issue 3 §7, issue 10 §7): floors, tipg, djmap and a bare dict route on
1,000,000 points.

Data (`--data`, bench/tiles_data.py): `generator` (default: the sample generator's service points,
imported), `blobs` (bare points in 40 Gaussian blobs) or `uniform` (bare points, 5 columns,
uniform over the district box: every listed tile dense).
Tiles: a fixed, seeded list per zoom (8, 11, 14, 16) of the tiles under uniform random positions in
the district's box. For each zoom and concurrency (1, 8):
- floor: the exact statement djmap runs for each tile (`TileRenderer.plan`), timed in Python over
  asyncpg (one connection per concurrent client); plain floor: one plain `ST_AsMVT` of the tile's
  rows over the table (bench/plain_tile.sql), the reference "added" latency is measured against;
- tipg (PyPI, its own venv, defaults, one uvicorn process) on the same table;
- djmap cold (DJMAP_TILE_CACHE=off; cluster tables built beforehand) and warm (cache on, every
  tile requested once first), bench/serve_reuseport.py, per `--freshness` mode (default: notify);
- dict: a bare Starlette route answering djmap's own gzip tiles from a dict, same uvicorn and
  SO_REUSEPORT set-up (bench/serve_reuseport.py --app dict).
Every server is started first and stays up; at each zoom and concurrency the wrk runs go back to
back, server after server (`--rounds` times), so the ratios compare runs seconds apart on a
machine other work shares; the 1-minute load average is recorded with each run.
Throughput and latency come from wrk (bench/tiles.lua cycles the list, Accept-Encoding: gzip).
Per zoom it also reports tile bytes, the share of the source points each tile accounts for, and
the latency djmap adds at concurrency 1, tile by tile (median of `--reps` requests on one
keep-alive connection minus the median of as many runs of the floor's statement, or of the plain
floor's, the three measured back to back for each tile; p50 and p90 over the list).

Usage: .venv/bin/python bench/bench_tiles.py [--points 1000000] [--seconds 5] [--workers 2]
       [--data generator|blobs|uniform] [--zooms 8,11,14,16] [--reps 15] [--rounds 1]
       [--freshness notify[,strict]] [--tipg-python /tmp/tipgvenv/bin/python] [--skip-tipg]
       [--out test-output/bench_tiles.json]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import mapbox_vector_tile
import morecantile
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tiles_data import (  # noqa: E402
    DATA,
    LAYER,
    bench_url,
    floor,
    load_points,
    plain_plans,
    prepare_and_plan,
    source_count,
    tile_list,
)
from tiles_servers import (  # noqa: E402
    fetch,
    loadavg,
    machine,
    run_wrk,
    start_dict,
    start_djmap,
    start_tipg,
    stop,
)

from geo import db as geodb  # noqa: E402
from geo.settings import get_db_settings  # noqa: E402

ZOOMS = (8, 11, 14, 16)
Paths = dict[int, list[str]]


def http_per_tile(port: int, paths: list[str], reps: int) -> list[float]:
    """Median time (ms) of each tile's request over `reps` on one keep-alive connection (gzip)."""
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


def added_latency(http_ms: list[float], floor_ms: list[float], plain_ms: list[float]) -> dict:
    """Per-tile latency added over the floor and over the plain floor at concurrency 1."""
    added = np.asarray(http_ms) - np.asarray(floor_ms)
    out = {
        "added_p50_ms": float(np.median(added)),
        "added_p90_ms": float(np.percentile(added, 90)),
        "floor_tile_p50_ms": float(np.median(floor_ms)),
    }
    if plain_ms:
        over_plain = np.asarray(http_ms) - np.asarray(plain_ms)
        out["plain_added_p50_ms"] = float(np.median(over_plain))
        out["plain_added_p90_ms"] = float(np.percentile(over_plain, 90))
        out["plain_tile_p50_ms"] = float(np.median(plain_ms))
    return out


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
        raw, body = fetch(port, path)
        wire.append(len(body))
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


def parse_args() -> argparse.Namespace:
    """The command line."""
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
    ap.add_argument("--rounds", type=int, default=1, help="alternating wrk rounds per setting")
    ap.add_argument("--tipg-python", default="/tmp/tipgvenv/bin/python")
    ap.add_argument("--skip-tipg", action="store_true")
    ap.add_argument("--skip-dict", action="store_true")
    ap.add_argument("--reps", type=int, default=15, help="runs per tile for per-tile latency")
    ap.add_argument("--reload", action="store_true", help="reload the points even if present")
    ap.add_argument("--data", choices=DATA, default="generator")
    ap.add_argument("--freshness", default="notify", help="djmap DJMAP_TILE_FRESHNESS modes")
    ap.add_argument("--out", type=Path, default=ROOT / "test-output" / "bench_tiles.json")
    ap.add_argument("--db-suffix", default="", help="another benchmark database (older code)")
    return ap.parse_args()


def floors(url: str, zooms: list[int], lists: dict, concs: list[int], args, rows: list) -> dict:  # type: ignore[no-untyped-def]
    """Both floors' rows; returns their statements per zoom {zoom: (floor plans, plain plans)}."""
    plans = {z: asyncio.run(prepare_and_plan(url, lists[z])) for z in zooms}
    plain = {z: plain_plans(lists[z]) for z in zooms}
    for z in zooms:
        for name, p in (("floor", plans[z]), ("plain floor", plain[z])):
            for c in concs if p else ():
                load = loadavg()
                r = asyncio.run(floor(url, p, c, args.seconds))
                rows.append({"server": name, "zoom": z, "conc": c, **r, "load1": load})
                print(rows[-1], flush=True)
    return {z: (plans[z], plain[z]) for z in zooms}


async def per_tile_added(url: str, port: int, paths: list[str], plans, reps: int) -> dict:  # type: ignore[no-untyped-def]
    """Tile by tile and back to back: the median of `reps` requests, of `reps` runs of the
    floor's statement and of the plain floor's (so load from other work hits all three alike)."""
    conn = await asyncpg.connect(url)
    await conn.execute("SET jit = off")
    http_ms, floor_ms, plain_ms = [], [], []
    try:
        for i, path in enumerate(paths):
            http_ms.append(http_per_tile(port, [path], reps)[0])
            floor_ms.append(await statement_ms(conn, plans[0][i], reps))
            if plans[1]:
                plain_ms.append(await statement_ms(conn, plans[1][i], reps))
    finally:
        await conn.close()
    return added_latency(http_ms, floor_ms, plain_ms)


async def statement_ms(conn: asyncpg.Connection, plan, reps: int) -> float:  # type: ignore[no-untyped-def]
    """Median time (ms) of a statement over `reps` runs (0 for a tile with nothing to run)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        if plan is not None:
            await conn.fetchval(plan[0], *plan[1])
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def start_servers(
    url: str, args: argparse.Namespace, paths: dict[str, Paths], zooms: list[int], servers: list
) -> None:  # type: ignore[no-untyped-def]
    """Start every server and warm it up, adding (name, port, process) to `servers` as each
    starts (the caller stops them, also when a later one fails)."""
    port = 8190
    for freshness in args.freshness.split(","):
        suffix = "" if freshness == "notify" else f" ({freshness})"
        for kind in ("cold", "warm"):
            port += 1
            home = Path(tempfile.mkdtemp(prefix="djmap-bench-"))
            cache = "off" if kind == "cold" else "on"
            proc = start_djmap(url, port, args.workers, cache, home, freshness)
            servers.append((f"djmap {kind}{suffix}", port, proc))
    if not args.skip_dict:
        warm = next(p for n, p, _ in servers if "warm" in n)
        table = {path: fetch(warm, path)[1] for z in zooms for path in paths["djmap"][z]}
        tiles_file = Path(tempfile.mkdtemp(prefix="djmap-dict-")) / "tiles.pickle"
        tiles_file.write_bytes(pickle.dumps(table))
        port += 1
        servers.append(("dict route", port, start_dict(port, args.workers, tiles_file)))
    if not args.skip_tipg:
        port += 1
        servers.append(("tipg", port, start_tipg(args.tipg_python, url, port)))
    for name, port, _ in servers:
        p = paths["tipg" if name == "tipg" else "djmap"]
        run_wrk(port, [x for z in zooms for x in p[z]], 8, 2)  # every process up and warm
    time.sleep(3)  # let the warm-up's last requests drain


def main() -> None:
    """Run the benchmark and print a markdown table (JSON in --out)."""
    args = parse_args()
    zooms = [int(z) for z in args.zooms.split(",")]
    concs = [int(c) for c in args.concurrency.split(",")]
    geodb.ensure_database(get_db_settings())
    url = bench_url(get_db_settings().url, args.db_suffix)
    load_points(url, args.points, args.seed, args.data, args.reload)
    lists = {z: tile_list(z, args.tiles, args.seed) for z in zooms}
    counts = {t: source_count(url, t) for ts in lists.values() for t in set(ts)}
    rows: list[dict[str, object]] = []
    results: dict[str, object] = {
        "machine": machine(),
        "data": args.data,
        "points": args.points,
        "seconds": args.seconds,
        "workers": args.workers,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": rows,
    }
    args.url = url
    per_tile = floors(url, zooms, lists, concs, args, rows)
    paths: dict[str, Paths] = {
        "djmap": {
            z: [f"/api/tiles/{LAYER}/{t.z}/{t.x}/{t.y}.mvt" for t in lists[z]] for z in zooms
        },
        "tipg": {
            z: [
                f"/collections/public.{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
                for t in lists[z]
            ]
            for z in zooms
        },
    }
    servers: list = []
    try:
        start_servers(url, args, paths, zooms, servers)
        for z in zooms:
            measure_zoom(z, servers, paths, lists[z], counts, per_tile[z], concs, args, rows)
    finally:
        for _, _, proc in servers:
            stop(proc)
    results["ended"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=float))
    print(table(results))


def measure_zoom(z, servers, paths, tiles, counts, floor_ms, concs, args, rows) -> None:  # type: ignore[no-untyped-def]
    """One zoom: quality and per-tile latency per server, then the alternating wrk runs."""
    extra: dict[str, dict[str, float]] = {}
    for name, port, _ in servers:
        p = paths["tipg" if name == "tipg" else "djmap"][z]
        extra[name] = {} if name == "dict route" else quality(port, p, tiles, counts)
        if name.startswith("djmap"):
            settle = time.perf_counter() + 3  # past the transient after the c=8 runs
            while time.perf_counter() < settle:
                http_per_tile(port, p, 1)
            extra[name] |= asyncio.run(per_tile_added(args.url, port, p, floor_ms, args.reps))
    for c in concs:
        for rnd in range(args.rounds):
            for name, port, _ in servers:
                p = paths["tipg" if name == "tipg" else "djmap"][z]
                r = run_wrk(port, p, c, args.seconds)
                rows.append(
                    {"server": name, "zoom": z, "conc": c, "round": rnd, **r, **extra[name]}
                )
                print(rows[-1], flush=True)


def table(results: dict[str, object]) -> str:
    """The markdown table of a run."""
    lines = [
        "| server | zoom | conc | req/s | p50 ms | p95 ms | p99 ms | wire KB | raw KB (max) "
        "| accounted | added p50 (p90) ms | over plain p50 (p90) ms | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:  # type: ignore[attr-defined]
        acc = (
            f"{r['accounted_min'] * 100:.1f}–{r['accounted_mean'] * 100:.1f} %"
            if "accounted_min" in r
            else "—"
        )
        size = f"{r['raw_kb']:.1f} ({r['max_raw_kb']:.0f})" if "raw_kb" in r else "—"
        wire = f"{r['wire_kb']:.1f}" if "wire_kb" in r else "—"
        c1 = r["conc"] == 1
        added = (
            f"{r['added_p50_ms']:.2f} ({r['added_p90_ms']:.2f})"
            if c1 and "added_p50_ms" in r
            else "—"
        )
        plain = (
            f"{r['plain_added_p50_ms']:.2f} ({r['plain_added_p90_ms']:.2f})"
            if c1 and "plain_added_p50_ms" in r
            else "—"
        )
        lines.append(
            f"| {r['server']} | {r['zoom']} | {r['conc']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {wire} | {size} | {acc} | {added} | {plain} "
            f"| {r.get('load1', 0):.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
