"""The organisation-life step of the sample load (geo/samples/orglife.py) on its own, optionally
against an older version of the module on the same database.

Imports the organisations of a generated folder (building codes dropped, so no other file is
needed) into a throwaway database on a private cluster, then runs the step (and the old one, with
`--old`) `--runs` times each, the three tables emptied and vacuumed before every run.

Usage: .venv/bin/python bench/bench_orglife.py FOLDER [--old OLD_ORGLIFE.py] [--runs 2]
  e.g. git show 3169cee:geo/samples/orglife.py > /tmp/orglife_old.py (the Python loop)
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import ModuleType

import psycopg

from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.ingest import import_file
from geo.samples import orglife

COUNT_SQL = (
    "SELECT (SELECT count(*) FROM meetings), (SELECT count(*) FROM committee_terms), "
    "(SELECT count(*) FROM dues_months)"
)
DAY = date(2026, 12, 5)


def load_module(path: Path) -> ModuleType:
    """An older orglife.py, imported under its own name."""
    spec = importlib.util.spec_from_file_location("orglife_old", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orglife_old"] = module  # its dataclasses look themselves up here
    spec.loader.exec_module(module)
    return module


def organisations_only(folder: Path, work: Path) -> Path:
    """The folder's organisations.csv with no building codes."""
    out = work / "organisations.csv"
    with (folder / "organisations.csv").open(encoding="utf-8", newline="") as src:
        reader = csv.DictReader(src)
        with out.open("w", encoding="utf-8", newline="") as dst:
            writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
            writer.writeheader()
            for row in reader:
                writer.writerow({**row, "building_code": ""} if "building_code" in row else row)
    return out


def run(url: str, name: str, module: ModuleType) -> None:
    """Empty the tables, run the step, print its time and counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE meetings, committee_terms, dues_months")
        conn.execute("VACUUM ANALYZE meetings, committee_terms, dues_months")
    t0 = time.perf_counter()
    offered = module.add_orglife_sample(url, 42, DAY)
    seconds = time.perf_counter() - t0
    with psycopg.connect(url) as conn:
        counts = conn.execute(COUNT_SQL).fetchone()
    print(f"{name}: {seconds:.2f} s, {offered} rows offered, meetings/terms/dues {counts}")


def main() -> None:
    """Import the organisations, time the step(s)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--old", type=Path, help="an older geo/samples/orglife.py")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="djmap-orglife-"))
    work.chmod(0o755)  # the unprivileged cluster owner must reach it
    cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_orglife")
    try:
        cluster.start()
        geodb.migrate(cluster.url)
        import_file(
            cluster.url, "organisations", organisations_only(args.folder, work), progress=False
        )
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("ANALYZE organisations")
        steps = [("new", orglife)] + ([("old", load_module(args.old))] if args.old else [])
        for _ in range(args.runs):
            for name, module in reversed(steps):
                run(cluster.url, name, module)
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
