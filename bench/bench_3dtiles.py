"""Benchmark: build the buildings 3D tileset from 100,000 buildings (target: ≥ 2,000 buildings/s).

    .venv/bin/python bench/bench_3dtiles.py [--buildings 100000] [--format b3dm] [--workers 2]
                                            [--url postgresql://...]   # default: a throwaway cluster

Footprints are the seeded synthetic ones of `tiles.threed.synthetic` (rectangles, L-shapes,
courtyards with holes, two-part MultiPolygons on a 50 m grid), one party branch per 20 buildings.
The timed part is `build_buildings(force=True)`: reading PostGIS, extruding, triangulating,
encoding and writing every content plus tileset.json. A sample of contents is then checked with the
Khronos glTF Validator. Never point --url at a database whose buildings you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import db as geodb  # noqa: E402
from geo.cluster import Cluster, free_port  # noqa: E402
from tiles.threed import build_buildings  # noqa: E402
from tiles.threed.source import read_buildings  # noqa: E402
from tiles.threed.synthetic import footprints, insert_buildings, insert_party_orgs  # noqa: E402


def machine() -> str:
    """CPU model, cores and memory of this machine."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{model}, {os.cpu_count()} cores, {mem_kb / 1e6:.0f} GB RAM, {platform.platform()}"


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the forked workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load(url: str, n: int) -> None:
    """Replace the buildings with `n` synthetic ones (and their party branches)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE buildings, organisations RESTART IDENTITY CASCADE")
    geoms, heights = footprints(n, seed=2024)
    ids = insert_buildings(url, geoms, heights)
    insert_party_orgs(url, ids[::20])


def validate_sample(tileset_dir: Path, fmt: str, k: int = 20) -> int:
    """Errors reported by the Khronos validator over the k largest contents."""
    files = sorted((tileset_dir / "tiles").rglob(f"*.{fmt}"), key=lambda p: -p.stat().st_size)[:k]
    script = ROOT / "tiles" / "threed" / "validate.mjs"
    out = subprocess.run(
        ["node", str(script), *map(str, files)], capture_output=True, text=True, check=True
    )
    return sum(f["numErrors"] for f in json.loads(out.stdout)["files"])


def run(url: str, n: int, fmt: str, workers: int, home: Path) -> dict[str, object]:
    """Load, time the build, validate a sample; the figures."""
    t0 = time.perf_counter()
    load(url, n)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    read_buildings(url)
    read_s = time.perf_counter() - t0
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    result = build_buildings(url, home, fmt=fmt, force=True, workers=workers, progress=True)
    build_s = time.perf_counter() - t0
    build_cpu = cpu_seconds() - cpu0
    m = result.manifest
    return {
        "buildings": m["buildings"],
        "format": fmt,
        "workers": workers,
        "tiles": m["tiles"],
        "megabytes": round(m["bytes"] / 1e6, 1),
        "load_seconds": round(load_s, 2),
        "read_seconds": round(read_s, 2),
        "build_seconds": round(build_s, 2),
        "buildings_per_second": round(n / build_s),
        "build_cpu_seconds": round(build_cpu, 2),
        "buildings_per_cpu_second": round(n / build_cpu),
        "validator_errors_in_20_largest": validate_sample(result.path, fmt),
        "machine": machine(),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    """Parse arguments, run against --url or a throwaway cluster, print the figures as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--format", default="b3dm", choices=["b3dm", "glb"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--url", help="an existing database to use (its buildings are replaced)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="djmap-bench3d-"))
    work.chmod(0o755)
    cluster = None
    try:
        url = args.url
        if url is None:
            cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_bench")
            cluster.start()
            url = cluster.url
            geodb.migrate(url)
        figures = run(url, args.buildings, args.format, args.workers, work / "home")
        print(json.dumps(figures, ensure_ascii=False, indent=1))
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
