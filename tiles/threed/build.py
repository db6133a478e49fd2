"""Build the buildings tileset: read PostGIS, plan the quadtree, write contents (in parallel), swap in.

Managed store (`settings.home/3dtiles/buildings/`): each build goes to `builds/<build_id>/`
(tileset.json, build.json, tiles/...) and `current.json` names the live one; the previous build
is kept so clients half-way through a download keep working, older ones are removed. A build
records the data versions of `buildings` and `organisations` it was made from; it is stale when
either has moved on.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from geo.errors import InvalidInput
from tiles.terrain import current_ground, sample_heights
from tiles.threed.content import FORMATS, content_bytes
from tiles.threed.geometry import EnuFrame, extrude
from tiles.threed.source import Buildings, current_versions, read_buildings
from tiles.threed.tiling import Node, Plan, fill_regions, plan_quadtree, tileset_dict

KEEP_BUILDS = 2
PARALLEL_MIN = 2000  # below this many buildings forking workers costs more than it saves


@dataclass
class BuildResult:
    """What a build call did."""

    built: bool
    manifest: dict[str, Any]
    path: Path  # folder holding tileset.json


def store_root(home: Path) -> Path:
    """Folder of the managed buildings tileset."""
    return Path(home) / "3dtiles" / "buildings"


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's object, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def current_manifest(home: Path) -> dict[str, Any] | None:
    """Manifest of the live managed build, if any."""
    return read_json(store_root(home) / "current.json")


def build_dir(home: Path, build_id: str) -> Path:
    """Folder of one managed build."""
    return store_root(home) / "builds" / build_id


def ground_id(home: Path) -> str | None:
    """Id of the terrain build buildings stand on (None: flat ground at 0 m)."""
    ground = current_ground(home)
    return None if ground is None else ground[0]


def is_stale(
    manifest: dict[str, Any] | None,
    versions: dict[str, int],
    ground: str | None = None,
    fmt: str | None = None,
) -> bool:
    """True when there is no build, or it was made from older data or terrain, or another format."""
    if manifest is None:
        return True
    if fmt is not None and manifest.get("format") != fmt:
        return True
    return bool(manifest.get("versions") != versions or manifest.get("ground") != ground)


def ground_heights(
    buildings: Buildings, home: Path | None
) -> tuple[npt.NDArray[np.float64], str | None]:
    """Base height of every building (lowest DEM height under its footprint) and the terrain id."""
    ground = current_ground(home) if home is not None else None
    if ground is None or not len(buildings):
        return np.zeros(len(buildings)), None
    coords, owner = shapely.get_coordinates(buildings.geoms, return_index=True)
    heights = sample_heights(ground[1], coords[:, 0], coords[:, 1])
    base = np.full(len(buildings), np.inf)
    np.minimum.at(base, owner, heights)
    return base, ground[0]


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One build at a time per store (other builders wait)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_running(home: Path) -> bool:
    """True while some process holds the build lock of the managed store."""
    lock = store_root(home) / ".lock"
    if not lock.exists():
        return False
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


# Shared with forked workers (copy-on-write), so jobs only carry building indices.
_STATE: dict[str, Any] = {}


def _write_content(job: tuple[str, npt.NDArray[np.int64]]) -> tuple[int, int]:
    """Extrude one tile's buildings and write its content file; returns (buildings, bytes)."""
    uri, members = job
    buildings: Buildings = _STATE["buildings"]
    ground = _STATE["ground"][members]
    mesh = extrude(buildings.geoms[members], buildings.height[members], _STATE["frame"], ground)
    data = content_bytes(_STATE["fmt"], mesh, buildings.features(members))
    path: Path = _STATE["target"] / uri
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    # served as is to clients that accept gzip (about 60 % smaller)
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    return len(members), len(data)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]3D Tiles[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def _run_jobs(
    jobs: list[tuple[str, npt.NDArray[np.int64]]], total: int, workers: int, progress: bool
) -> int:
    """Write all contents, in a fork pool when it pays; returns the bytes written."""
    written = 0
    start = time.perf_counter()
    with _progress(progress) as bar:
        task = bar.add_task("buildings", total=total, rate="")
        done = 0

        def advance(result: tuple[int, int]) -> None:
            nonlocal written, done
            done += result[0]
            written += result[1]
            rate = done / max(time.perf_counter() - start, 1e-9)
            bar.update(task, advance=result[0], rate=f"{rate:,.0f}/s")

        if workers > 1 and total >= PARALLEL_MIN and len(jobs) > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                for result in pool.imap_unordered(_write_content, jobs):
                    advance(result)
        else:
            for job in jobs:
                advance(_write_content(job))
    return written


def _plan(
    buildings: Buildings, ground: npt.NDArray[np.float64], plan: Plan
) -> tuple[Node, EnuFrame]:
    bounds = shapely.bounds(buildings.geoms)
    center = np.column_stack(((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2))
    importance = shapely.area(buildings.geoms) * buildings.height
    bbox = (*center.min(axis=0).tolist(), *center.max(axis=0).tolist())
    root = plan_quadtree(center, importance, bbox, plan)  # type: ignore[arg-type]
    fill_regions(root, bounds, ground, buildings.height)
    lon = np.degrees((root.region[0] + root.region[2]) / 2)
    lat = np.degrees((root.region[1] + root.region[3]) / 2)
    return root, EnuFrame(float(lon), float(lat))


def write_tileset(
    buildings: Buildings,
    manifest: dict[str, Any],
    target: Path,
    *,
    workers: int = 2,
    progress: bool = True,
    plan: Plan = Plan(),
    home: Path | None = None,
) -> dict[str, Any]:
    """Write tileset.json, build.json and every content under `target` (on the terrain of
    `home`, if any); returns the manifest."""
    started = time.perf_counter()
    ground, ground_build = ground_heights(buildings, home)
    fmt = manifest["format"]
    target.mkdir(parents=True, exist_ok=True)
    root: Node | None = None
    frame = EnuFrame(0.0, 0.0)
    jobs: list[tuple[str, npt.NDArray[np.int64]]] = []
    if len(buildings):
        root, frame = _plan(buildings, ground, plan)
        nodes = [n for n in root.walk() if len(n.members)]
        jobs = [(n.uri(fmt), n.members) for n in sorted(nodes, key=lambda n: -len(n.members))]
    _STATE.update(buildings=buildings, ground=ground, frame=frame, fmt=fmt, target=target)
    try:
        written = _run_jobs(jobs, len(buildings), workers, progress)
    finally:
        _STATE.clear()
    manifest = {
        **manifest,
        "ground": ground_build,
        "buildings": len(buildings),
        "tiles": len(jobs),
        "bytes": written,
    }
    manifest["seconds"] = round(time.perf_counter() - started, 3)
    doc = tileset_dict(root, frame, fmt, {"djmap": manifest, "build_id": manifest["build_id"]})
    (target / "tileset.json").write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    (target / "build.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _new_manifest(versions: dict[str, int], fmt: str) -> dict[str, Any]:
    stamp = f"{time.time_ns():x}"
    build_id = f"{versions.get('buildings', 0)}-{versions.get('organisations', 0)}-{fmt}-{stamp}"
    return {
        "build_id": build_id,
        "format": fmt,
        "versions": versions,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _swap_in(home: Path, manifest: dict[str, Any]) -> None:
    """Point current.json at the new build atomically and drop builds older than the previous."""
    root = store_root(home)
    tmp = root / "current.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, root / "current.json")
    builds = sorted((root / "builds").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[KEEP_BUILDS:]:
        shutil.rmtree(old, ignore_errors=True)


def build_buildings(
    url: str,
    home: Path,
    *,
    fmt: str = "b3dm",
    force: bool = False,
    out: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    plan: Plan = Plan(),
) -> BuildResult:
    """(Re)build the buildings tileset when stale (or forced); `out` writes a standalone copy there."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown 3D Tiles format {fmt!r}; use one of {FORMATS}")
    workers = workers or min(2, os.cpu_count() or 1)
    if out is not None:
        return _build_standalone(url, home, Path(out), fmt, force, workers, progress, plan)
    root = store_root(home)
    with build_lock(root):
        manifest = current_manifest(home)
        if not force and not is_stale(manifest, current_versions(url), ground_id(home), fmt):
            assert manifest is not None
            return BuildResult(False, manifest, build_dir(home, manifest["build_id"]))
        buildings, versions = read_buildings(url)
        manifest = _new_manifest(versions, fmt)
        final = build_dir(home, manifest["build_id"])
        staging = final.with_name(final.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        manifest = write_tileset(
            buildings, manifest, staging, workers=workers, progress=progress, plan=plan, home=home
        )
        os.replace(staging, final)
        _swap_in(home, manifest)
        return BuildResult(True, manifest, final)


def _build_standalone(
    url: str, home: Path, out: Path, fmt: str, force: bool, workers: int, progress: bool, plan: Plan
) -> BuildResult:
    """Write tileset.json + tiles/ straight into `out` (for static hosting)."""
    with build_lock(out):
        manifest = read_json(out / "build.json")
        if not force and not is_stale(manifest, current_versions(url), ground_id(home), fmt):
            assert manifest is not None
            return BuildResult(False, manifest, out)
        buildings, versions = read_buildings(url)
        shutil.rmtree(out / "tiles", ignore_errors=True)
        manifest = write_tileset(
            buildings,
            _new_manifest(versions, fmt),
            out,
            workers=workers,
            progress=progress,
            plan=plan,
            home=home,
        )
        return BuildResult(True, manifest, out)
