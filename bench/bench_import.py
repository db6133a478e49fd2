"""Import benchmark: N member rows from CSV through `djmap import`'s core vs the floor (plain COPY).

The floor is PostgreSQL `COPY … FROM STDIN (FORMAT csv)` of the same file into a table with the
same primary key (external_id) and a GiST index on a point built from lon/lat (a stored generated
column), i.e. the cheapest way to get the same rows indexed into PostGIS.

Runs in its own database (`<dbname>_bench` on the server in use), which it creates and drops.
Usage: .venv/bin/python bench/bench_import.py [--rows 1000000] [--repeat 1] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from geo import db as geodb
from geo.ingest import import_file, writers
from geo.settings import get_db_settings

BBOX = (120.05, 30.18, 120.25, 30.33)  # Hangzhou, west of the river (WGS84)
BRANCHES = 100
FLOOR_DDL = """
CREATE TABLE floor_members (
    external_id text PRIMARY KEY, name text NOT NULL, branch_code text NOT NULL,
    status text NOT NULL, joined date, lon float8, lat float8,
    home geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
);
CREATE INDEX floor_members_home_gist ON floor_members USING gist (home);
"""


def make_csv(path: Path, rows: int, seed: int = 20240701) -> None:
    """A members CSV inside the Hangzhou box, seeded (same file every run)."""
    rng = np.random.default_rng(seed)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    given = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂"))
    name = (
        pd.Series(surnames[rng.integers(0, len(surnames), rows)])
        + pd.Series(given[rng.integers(0, len(given), rows)])
        + pd.Series(given[rng.integers(0, len(given), rows)])
    )
    days = rng.integers(0, 365 * 40, rows)
    joined = (np.datetime64("1985-01-01") + days.astype("timedelta64[D]")).astype(str)
    frame = pd.DataFrame(
        {
            "external_id": [f"M{i:08d}" for i in range(rows)],
            "name": name,
            "branch_code": [f"BR{b:03d}" for b in rng.integers(0, BRANCHES, rows)],
            "status": np.array(["正式", "预备", "流动"])[rng.choice(3, rows, p=[0.85, 0.1, 0.05])],
            "joined": joined,
            "lon": np.round(rng.uniform(BBOX[0], BBOX[2], rows), 6),
            "lat": np.round(rng.uniform(BBOX[1], BBOX[3], rows), 6),
        }
    )
    frame.to_csv(path, index=False)


def bench_url(base: str) -> str:
    """URL of a fresh `<dbname>_bench` database next to `base`, migrated."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_bench"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    return url


def seed_branches(url: str) -> None:
    """One committee and 100 branches, in the box."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('W000', '测试党委', '党委', ST_SetSRID(ST_MakePoint(120.15, 30.25), 4326))"
        )
        conn.execute(
            "INSERT INTO organisations (code, name, type, parent_id, geom) "
            "SELECT 'BR' || lpad(i::text, 3, '0'), '第' || i || '支部', '党支部', "
            "(SELECT id FROM organisations WHERE code = 'W000'), "
            "ST_SetSRID(ST_MakePoint(120.1 + i * 0.001, 30.2), 4326) FROM generate_series(0, %s) i",
            (BRANCHES - 1,),
        )


def floor(url: str, path: Path) -> float:
    """Seconds for COPY of the file into the floor table (client-side stream, as the importer)."""
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS floor_members")
        conn.execute(FLOOR_DDL)
        conn.commit()
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY floor_members (external_id, name, branch_code, status, joined, lon, lat) "
                "FROM STDIN (FORMAT csv, HEADER)"
            ) as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - t0


PHASES: dict[str, dict[str, float]] = {}


def timed_import(url: str, path: Path, rows: int, label: str = "bulk") -> float:
    """Seconds for import_file of the members CSV into an empty members table."""
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE members CASCADE")
    t0 = time.perf_counter()
    result = import_file(url, "members", path, progress=False)
    elapsed = time.perf_counter() - t0
    assert result.rows_inserted == rows, result
    PHASES[label] = result.report["timings_s"]
    return elapsed


def machine() -> str:
    """nproc and CPU model."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def measure(url: str, rows: int, repeat: int) -> dict[str, float]:
    """Seconds of the floor, the bulk import, the import through the indexes and the rerun."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.csv"
        t0 = time.perf_counter()
        make_csv(path, rows)
        print(
            f"generated {rows} rows ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        floors, imports = [], []
        for _ in range(repeat):  # interleaved, so a change of load hits both alike
            floors.append(floor(url, path))
            imports.append(timed_import(url, path, rows))
        print(
            "floor runs: "
            + ", ".join(f"{t:.1f}" for t in floors)
            + " s; import runs: "
            + ", ".join(f"{t:.1f}" for t in imports)
            + " s"
        )
        t0 = time.perf_counter()
        again = import_file(url, "members", path, progress=False)
        t_rerun = time.perf_counter() - t0
        assert again.rows_unchanged == rows, again
        writers.BULK_MIN = 10**12  # write through the indexes, as a small import does
        t_through = min(timed_import(url, path, rows, "through") for _ in range(repeat))
    return {"floor": min(floors), "import": min(imports), "through": t_through, "rerun": t_rerun}


def report(rows: int, t: dict[str, float]) -> None:
    """The Markdown table of the runs, and the phases of the last ones."""
    r_floor = rows / t["floor"]
    print(f"machine: {machine()}")
    print("| run | seconds | rows/s | ratio to floor |")
    print("|---|---:|---:|---:|")
    print(f"| floor: COPY into PK + GiST table | {t['floor']:.1f} | {r_floor:,.0f} | 1.00 |")
    labels = (
        ("import", "djmap import members (empty table, bulk path)"),
        ("through", "djmap import members (empty table, through the indexes)"),
        ("rerun", "rerun of the same file (all rows unchanged)"),
    )
    for key, label in labels:
        rate = rows / t[key]
        print(f"| {label} | {t[key]:.1f} | {rate:,.0f} | {rate / r_floor:.2f} |")
    for label, phases in PHASES.items():
        print(
            f"phases ({label}, last run): " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
        )


def main() -> None:
    """Run both measurements and print a Markdown table row set."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    args = ap.parse_args()
    base = geodb.ensure_database(get_db_settings())
    url = bench_url(base)
    try:
        seed_branches(url)
        report(args.rows, measure(url, args.rows, args.repeat))
    finally:
        if not args.keep:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"')


if __name__ == "__main__":
    main()
