"""Explicit quadtree of buildings and the tileset.json that describes it.

Refinement is ADD: buildings have one level of detail, so every building is stored exactly once.
Each node keeps its most prominent buildings (footprint area × height) and hands the rest to its four
quadrant children (by footprint centre), so the skyline shows first from afar and smaller buildings
stream in as the camera gets closer. REPLACE would need coarser stand-in geometry for every child and
would store each building several times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tiles.threed.geometry import EnuFrame

PAD_RAD = 5e-8  # about 30 cm: covers float32 rounding of vertices up to ~3,000 km from the origin
PAD_H = 0.1  # metres
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class Node:
    """A quadtree tile: its buildings (indices), children, and bounds once computed."""

    level: int
    x: int
    y: int
    members: I64
    children: list[Node] = field(default_factory=list)
    region: list[float] = field(default_factory=list)

    def walk(self) -> list[Node]:
        """This node and all its descendants, parents first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def uri(self, fmt: str) -> str:
        """Relative content URI of this tile."""
        return f"tiles/{self.level}/{self.x}_{self.y}.{fmt}"


@dataclass(frozen=True)
class Plan:
    """Knobs of the quadtree."""

    leaf_max: int = 1000  # a tile with at most this many buildings is a leaf
    keep: int = 250  # buildings an inner tile keeps for itself
    max_level: int = 12  # deeper than this everything left goes into one leaf


def plan_quadtree(
    center: F64, importance: F64, bbox: tuple[float, float, float, float], plan: Plan = Plan()
) -> Node:
    """Split building indices (by footprint centre) into a quadtree over `bbox` (lon/lat)."""
    return _split(np.arange(len(center), dtype=np.int64), center, importance, bbox, 0, 0, 0, plan)


def _split(
    idx: I64,
    center: F64,
    importance: F64,
    bbox: tuple[float, float, float, float],
    level: int,
    x: int,
    y: int,
    plan: Plan,
) -> Node:
    if len(idx) <= plan.leaf_max or level >= plan.max_level:
        return Node(level, x, y, idx)
    order = np.argsort(-importance[idx], kind="stable")
    kept, rest = np.sort(idx[order[: plan.keep]]), idx[order[plan.keep :]]
    node = Node(level, x, y, kept)
    west, south, east, north = bbox
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    right = center[rest, 0] >= mid_x
    top = center[rest, 1] >= mid_y
    for dx in (0, 1):
        for dy in (0, 1):
            sub = rest[(right == bool(dx)) & (top == bool(dy))]
            if len(sub) == 0:
                continue
            quad = (
                mid_x if dx else west,
                mid_y if dy else south,
                east if dx else mid_x,
                north if dy else mid_y,
            )
            node.children.append(
                _split(
                    np.sort(sub), center, importance, quad, level + 1, 2 * x + dx, 2 * y + dy, plan
                )
            )
    return node


def content_region(bounds: F64, ground: F64, heights: F64) -> list[float]:
    """Region [w, s, e, n (radians), min h, max h] of footprints (lon/lat bounds) standing on
    `ground` with `heights`."""
    return [
        float(np.radians(bounds[:, 0].min())) - PAD_RAD,
        float(np.radians(bounds[:, 1].min())) - PAD_RAD,
        float(np.radians(bounds[:, 2].max())) + PAD_RAD,
        float(np.radians(bounds[:, 3].max())) + PAD_RAD,
        float(ground.min()) - PAD_H,
        float((ground + heights).max()) + PAD_H,
    ]


def union(regions: list[list[float]]) -> list[float]:
    """Smallest region enclosing all of them."""
    r = np.array(regions)
    return [
        *r[:, :2].min(axis=0).tolist(),
        *r[:, 2:4].max(axis=0).tolist(),
        float(r[:, 4].min()),
        float(r[:, 5].max()),
    ]


def fill_regions(node: Node, bounds: F64, ground: F64, heights: F64) -> list[float]:
    """Set every node's region to enclose its own buildings and all of its children."""
    parts = [fill_regions(child, bounds, ground, heights) for child in node.children]
    if len(node.members):
        m = node.members
        parts.append(content_region(bounds[m], ground[m], heights[m]))
    node.region = union(parts)
    return node.region


def root_error(region: list[float]) -> float:
    """Geometric error of the root: a sixteenth of the region's larger side, in metres."""
    west, south, east, north = region[:4]
    width = (east - west) * 6378137.0 * np.cos((south + north) / 2)
    height = (north - south) * 6378137.0
    return float(max(max(width, height) / 16, 1.0))


def _tile_dict(node: Node, error: float, fmt: str) -> dict[str, Any]:
    tile: dict[str, Any] = {
        "boundingVolume": {"region": node.region},
        "geometricError": error,
        "refine": "ADD",
    }
    if len(node.members):
        tile["content"] = {"uri": node.uri(fmt)}
    if node.children:
        tile["children"] = [_tile_dict(c, error / 2, fmt) for c in node.children]
    return tile


def tileset_dict(
    root: Node | None, frame: EnuFrame, fmt: str, extras: dict[str, Any]
) -> dict[str, Any]:
    """The tileset.json document (3D Tiles 1.0 for b3dm, 1.1 for glb)."""
    version = "1.0" if fmt == "b3dm" else "1.1"
    asset: dict[str, Any] = {
        "version": version,
        "tilesetVersion": extras["build_id"],
        "extras": extras,
    }
    if root is None:  # no buildings: an empty, still valid tileset
        empty = {
            "boundingVolume": {"region": [0, 0, 0, 0, 0, 0]},
            "geometricError": 0,
            "refine": "ADD",
        }
        return {"asset": asset, "geometricError": 0, "root": empty}
    error = root_error(root.region)
    tile = _tile_dict(root, error, fmt)
    tile["transform"] = frame.enu_to_ecef().flatten(order="F").tolist()
    return {
        "asset": asset,
        "geometricError": error * 2,
        "root": tile,
    }
