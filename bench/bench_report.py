"""Planning: the printable report and red routes (issue 14 §5-6) on the sample district.

Loads the sample district (seed 42, default counts) into its own database
(`<dbname>_report_bench` on the server `--url` names, default: `djmap db url`; created, loaded,
dropped unless `--keep`; the database `--url` names is never written) and measures, `--rounds`
times each (median and best):

- the report end to end as a planner runs it: `djmap report coverage --district CODE --out …`
  in its own process (wall time, imports included);
- its parts in this process: collecting the figures (two coverage runs, catchments in three
  walking bands, grid coverage), laying out the HTML (maps drawn), printing with Chromium;
- red routes (`geo.planning.routes.plan`) of 2, 5, 8 and 12 stops, on foot and by car, round
  trips (12 stops: the exact Held-Karp order at its largest).

Usage: .venv/bin/python bench/bench_report.py [--url URL] [--rounds 3] [--keep]
JSON goes to test-output/bench_report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import db as geodb  # noqa: E402
from geo.db import Direct  # noqa: E402
from geo.planning import report, routes  # noqa: E402
from geo.samples import SampleSpec, generate  # noqa: E402
from geo.samples.load import load_samples  # noqa: E402
from geo.scope import Principal  # noqa: E402
from web import report as printed  # noqa: E402

OUT = ROOT / "test-output" / "bench_report.json"
DJMAP = ROOT / ".venv" / "bin" / "djmap"
ADMIN = Principal(role="admin")


def timed(fn: Callable[[], Any], rounds: int) -> dict[str, float]:
    """Median and best seconds of `rounds` calls."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "best_s": round(min(times), 3)}


def prepare(base: str, keep_name: str) -> str:
    """A fresh database with the sample district loaded; its URL."""
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{keep_name}"')
        conn.execute(f'CREATE DATABASE "{keep_name}"')
    url = base.rsplit("/", 1)[0] + "/" + keep_name
    geodb.migrate(url)
    with tempfile.TemporaryDirectory(prefix="djmap-bench-report-") as tmp:
        generate(SampleSpec(seed=42, today=date.today().isoformat()), Path(tmp) / "s")
        load_samples(url, Path(tmp) / "s", Path(tmp) / "p", progress=False)
    return url


def bench_report(url: str, district: str, rounds: int) -> dict[str, Any]:
    req = report.ReportRequest(district=district)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DJMAP_DATABASE_URL": url}
        cmd = [str(DJMAP), "report", "coverage", "--district", district, "--out", f"{tmp}/r.pdf"]
        out["cli_end_to_end"] = timed(lambda: subprocess.run(cmd, env=env, check=True,
                                                             capture_output=True), rounds)  # fmt: skip
        pages = subprocess.run(["pdfinfo", f"{tmp}/r.pdf"], capture_output=True, text=True)
        out["pages"] = int(
            next(x for x in pages.stdout.splitlines() if x.startswith("Pages")).split()[1]
        )
    data: dict[str, Any] = {}
    out["collect"] = timed(lambda: data.update(report.collect(Direct(url), req, ADMIN)), rounds)
    html: list[str] = []
    out["html_and_maps"] = timed(lambda: html.append(printed.html(data)), rounds)
    out["chromium_print"] = timed(lambda: printed.print_pdf(html[-1]), rounds)
    return out


def bench_routes(url: str, rounds: int) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM service_points ORDER BY code")]
    out: dict[str, Any] = {}
    for n in (2, 5, 8, 12):
        for mode in ("walk", "drive"):
            stops = ids[:: max(1, len(ids) // n)][:n]

            def run(stops: list[int] = stops, mode: str = mode) -> None:
                with psycopg.connect(url) as conn:
                    routes.plan(conn, stops, mode, round_trip=True)

            out[f"{n}_{mode}"] = timed(run, rounds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=None, help="server URL (default: djmap db url)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    base = args.url or subprocess.run([str(DJMAP), "db", "url"], capture_output=True, text=True,
                                      check=True).stdout.strip()  # fmt: skip
    name = base.rsplit("/", 1)[1].split("?")[0] + "_report_bench"
    t0 = time.perf_counter()
    url = prepare(base, name)
    load_s = round(time.perf_counter() - t0, 1)
    with psycopg.connect(url) as conn:
        district = conn.execute("SELECT code FROM districts ORDER BY id LIMIT 1").fetchone()[0]  # type: ignore[index]
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load": os.getloadavg(),
        },
        "sample_load_s": load_s,
        "report": bench_report(url, district, args.rounds),
        "routes": bench_routes(url, args.rounds),
    }
    result["machine"]["load_after"] = os.getloadavg()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    if not args.keep:
        admin = base.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
