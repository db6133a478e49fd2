"""Load a generated sample folder into a database through the one ingest core, in dependency order.

A load is recorded in the `imports` audit table as kind 'samples' with the generation's
fingerprint; a rerun with the same fingerprint (and the rows still there) does nothing.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from geo.samples.generate import LOAD_ORDER, Manifest, SampleSpec, generate, read_manifest
from geo.samples.grids import add_grids_sample
from geo.samples.landuse import add_landuse_sample
from geo.samples.live import add_live_sample
from geo.samples.orglife import add_orglife_sample

AUDIT_KIND = "samples"
TOPOLOGY_STEP = "road topology"
LIVE_STEP = "registrations and check-ins"
ORGLIFE_STEP = "organisation life"
GRIDS_STEP = "grids and red routes"
LANDUSE_STEP = "water and green areas"
ANALYZE_STEP = "statistics"
# manifest count → table holding those rows
TABLES = {
    "districts": "districts",
    "buildings": "buildings",
    "roads": "roads",
    "organisations": "organisations",
    "service_points": "service_points",
    "members": "members",
    "activities": "activities",
    "panoramas": "panoramas",
}
# Fresh statistics before the steps that query what was just imported: planned before
# autovacuum had analysed the new rows, the live step's per-activity subtree query had not
# finished after 10 minutes at 500,000 organisations and 1,000,000 members; analysed, 67 s.
ANALYZE_SQL = (
    "ANALYZE districts, buildings, roads, organisations, service_points, members, activities, "
    "panoramas"
)
COUNTS_SQL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES.values())
FIND_LOAD = (
    "SELECT 1 FROM imports WHERE kind = %s AND sha256 = %s AND status = 'written' "
    "ORDER BY id DESC LIMIT 1"
)
RECORD_LOAD = (
    "INSERT INTO imports (kind, source_name, sha256, actor, finished_at, status, rows_total, rows_written) "
    "VALUES (%s, %s, %s, %s, now(), 'written', %s, %s)"
)
Hook = Callable[[str, int, int], None]  # (step name, index, total)


@dataclass
class LoadResult:
    """What a load did: skipped (already loaded), per-step seconds, rows per table afterwards."""

    skipped: bool
    fingerprint: str
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def table_counts(url: str) -> dict[str, int]:
    """Row counts of the tables a sample fills (keys as in the manifest)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(COUNTS_SQL).fetchone()
    assert row is not None
    return {key: int(n) for key, n in zip(TABLES, row, strict=True)}


def already_loaded(url: str, manifest: Manifest) -> bool:
    """True when this generation was loaded before and its rows are all still there."""
    with psycopg.connect(url) as conn:
        row = conn.execute(FIND_LOAD, (AUDIT_KIND, manifest["fingerprint"])).fetchone()
    if row is None:
        return False
    want = dict(manifest["counts"])
    have = table_counts(url)
    return all(have.get(k, 0) >= int(v) for k, v in want.items() if k in TABLES)


def ensure_generated(folder: Path, spec: SampleSpec | None = None) -> Manifest:
    """The folder's manifest, generating the sample there first when it has none."""
    manifest = read_manifest(folder)
    if manifest is None:
        manifest = generate(spec or SampleSpec(), folder)
    return manifest


def stage_panoramas(folder: Path, target: Path) -> Path:
    """Copy the panorama images to `target` with a CSV whose image paths are relative to it."""
    target.mkdir(parents=True, exist_ok=True)
    src_csv = folder / "panoramas.csv"
    with src_csv.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        columns = list(reader.fieldnames or [])  # the header, kept when there are no rows
    for row in rows:
        src = folder / row["image"]
        dst = target / Path(row["image"]).name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
        row["image"] = dst.name
    staged = target / "panoramas.csv"
    with staged.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return staged


def load_samples(
    url: str,
    folder: Path,
    panorama_dir: Path,
    *,
    force: bool = False,
    progress: bool = True,
    on_step: Hook | None = None,
) -> LoadResult:
    """Generate if needed, then import every file in dependency order and build the road topology."""
    from geo.ingest import import_file  # the ingest core (owned by the ingest work)
    from geo.network import build_topology

    steps = _Steps(on_step, generating=read_manifest(folder) is None)
    with steps.run("generate", skip=not steps.generating):
        manifest = ensure_generated(folder)
    fingerprint = str(manifest["fingerprint"])
    if not force and already_loaded(url, manifest):
        return LoadResult(True, fingerprint, steps.seconds, table_counts(url))
    for kind, name in LOAD_ORDER:
        with steps.run(kind):
            path = stage_panoramas(folder, panorama_dir) if kind == "panoramas" else folder / name
            import_file(url, kind, path, actor="djmap samples load", progress=progress)
        if kind == "roads":
            with steps.run(TOPOLOGY_STEP):
                build_topology(url)  # the roads import builds it too; this makes sure of it
    with steps.run(ANALYZE_STEP), psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ANALYZE_SQL)
    with steps.run(LIVE_STEP):  # synthetic registrations and check-ins (geo/samples/live.py)
        add_live_sample(url, int(dict(manifest.get("spec") or {}).get("seed", 42)))
    with steps.run(ORGLIFE_STEP):  # meetings, elections and dues (geo/samples/orglife.py)
        add_orglife_sample(url, int(dict(manifest.get("spec") or {}).get("seed", 42)))
    with steps.run(GRIDS_STEP):  # 党建网格 and red routes (geo/samples/grids.py, issue 14)
        add_grids_sample(url)
    with steps.run(LANDUSE_STEP):  # the basemap's water and green (geo/samples/landuse.py)
        add_landuse_sample(url)
    steps.done()
    _record(url, folder, fingerprint, sum(int(v) for v in dict(manifest["counts"]).values()))
    return LoadResult(False, fingerprint, steps.seconds, table_counts(url))


class _Steps:
    """Numbered steps, timed, reported to an optional hook (the CLI's progress bars)."""

    def __init__(self, hook: Hook | None, generating: bool) -> None:
        self.hook = hook
        self.generating = generating
        self.total = len(LOAD_ORDER) + 5 + int(generating)
        self.index = 0
        self.seconds: dict[str, float] = {}

    @contextmanager
    def run(self, name: str, skip: bool = False) -> Iterator[None]:
        if skip:
            yield
            return
        if self.hook:
            self.hook(name, self.index, self.total)
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        self.index += 1

    def done(self) -> None:
        if self.hook:
            self.hook("done", self.total, self.total)


def _record(url: str, folder: Path, fingerprint: str, rows: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            RECORD_LOAD, (AUDIT_KIND, str(folder), fingerprint, "djmap samples load", rows, rows)
        )
