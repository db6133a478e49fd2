"""3D Tiles of buildings: extruded footprints in an explicit quadtree (b3dm 1.0 or glb 1.1)."""

from tiles.threed.build import (
    BuildResult,
    build_buildings,
    build_dir,
    current_manifest,
    ground_id,
    is_stale,
    store_root,
)
from tiles.threed.content import BATCH_PROPERTIES, FORMATS
from tiles.threed.refresh import RebuildFailed, rebuild
from tiles.threed.source import VERSIONED, current_versions

__all__ = [
    "BATCH_PROPERTIES",
    "FORMATS",
    "VERSIONED",
    "BuildResult",
    "RebuildFailed",
    "build_buildings",
    "build_dir",
    "current_manifest",
    "current_versions",
    "ground_id",
    "is_stale",
    "rebuild",
    "store_root",
]
