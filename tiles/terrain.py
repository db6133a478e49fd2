"""Terrain-RGB tiles (Mapbox encoding) from a DEM GeoTIFF, for deck.gl's TerrainLayer.

height = -10000 + (R·65536 + G·256 + B)·0.1 metres. Tiles are Web Mercator (morecantile
WebMercatorQuad) PNGs, written to `settings.home/terrain/builds/<build_id>/{z}/{x}/{y}.png` with
`current.json` naming the live build. Only tiles that touch the DEM are written; pixels of a written
tile that fall outside the DEM (or on nodata) are sea level (0 m). Asked for a tile of the zoom range
that was not written (no DEM there), the API answers a flat 0 m tile, so TerrainLayer draws no holes
around the district; outside the zoom range it answers 404, outside the tile grid 400.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import morecantile
import numpy as np
import numpy.typing as npt
import rasterio
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import rowcol
from rasterio.warp import Resampling, reproject, transform, transform_bounds
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo.errors import InvalidInput, NotFound

TMS = morecantile.tms.get("WebMercatorQuad")
MERCATOR = CRS.from_epsg(3857)
BUILD_ID = re.compile(r"^[0-9a-f]+$")
MAX_ZOOM = 22
KEEP_BUILDS = 2


def encode(heights: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Terrain-RGB pixels (h, w, 3) of heights in metres (0.1 m steps, -10000 m to 1667721.5 m)."""
    value = np.clip(np.rint((np.asarray(heights, dtype=np.float64) + 10000.0) * 10.0), 0, 2**24 - 1)
    v = value.astype(np.uint32)
    return np.stack(((v >> 16) & 255, (v >> 8) & 255, v & 255), axis=-1).astype(np.uint8)


def decode(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Heights in metres of terrain-RGB pixels (h, w, 3)."""
    px = rgb.astype(np.float64)
    return -10000.0 + (px[..., 0] * 65536.0 + px[..., 1] * 256.0 + px[..., 2]) * 0.1


def png_bytes(rgb: npt.NDArray[np.uint8]) -> bytes:
    """Lossless PNG of an RGB array."""
    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def parse_zooms(text: str) -> tuple[int, int]:
    """`8-15` or `12` as (min, max); InvalidInput otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?", text)
    if not match:
        raise InvalidInput(f"zooms must look like 8-15, not {text!r}")
    lo = int(match.group(1))
    hi = int(match.group(2) or lo)
    if lo > hi or hi > MAX_ZOOM:
        raise InvalidInput(f"zooms must be a range within 0-{MAX_ZOOM}, not {text!r}")
    return lo, hi


@dataclass
class Dem:
    """A DEM band in memory with its georeferencing."""

    data: npt.NDArray[np.float32]
    transform: rasterio.Affine
    crs: CRS
    nodata: float | None
    bounds: tuple[float, float, float, float]  # lon/lat
    pixel_m: float  # rough ground size of a DEM pixel


def read_dem(path: Path) -> Dem:
    """Band 1 of a DEM GeoTIFF; InvalidInput when it cannot be read or has no CRS."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InvalidInput(f"{path}: the DEM has no CRS")
            data = src.read(1).astype(np.float32)
            bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            west, south, east, north = transform_bounds(src.crs, MERCATOR, *src.bounds)
            pixel_m = max((east - west) / src.width, (north - south) / src.height)
            pixel_m *= np.cos(np.radians((bounds[1] + bounds[3]) / 2))
            return Dem(data, src.transform, src.crs, src.nodata, tuple(bounds), float(pixel_m))
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInput(f"cannot read DEM {path}: {exc}") from exc


def render_tile(dem: Dem, tile: morecantile.Tile, size: int) -> npt.NDArray[np.float32] | None:
    """Heights of one tile (size × size), or None when the tile has no DEM data at all."""
    xy = TMS.xy_bounds(tile)
    dst = np.full((size, size), np.nan, dtype=np.float32)
    tile_px_m = (
        (xy.right - xy.left) / size * np.cos(np.radians((dem.bounds[1] + dem.bounds[3]) / 2))
    )
    resampling = Resampling.average if tile_px_m > 2 * dem.pixel_m else Resampling.bilinear
    reproject(
        source=dem.data,
        destination=dst,
        src_transform=dem.transform,
        src_crs=dem.crs,
        src_nodata=dem.nodata,
        dst_transform=rasterio.Affine(
            (xy.right - xy.left) / size, 0, xy.left, 0, -(xy.top - xy.bottom) / size, xy.top
        ),
        dst_crs=MERCATOR,
        dst_nodata=np.nan,
        resampling=resampling,
    )
    if np.isnan(dst).all():
        return None
    return np.nan_to_num(dst, nan=0.0)


def terrain_root(home: Path) -> Path:
    """Folder of the terrain store."""
    return Path(home) / "terrain"


def current_build(home: Path) -> dict[str, Any] | None:
    """Metadata of the live terrain build, if any."""
    try:
        data = json.loads((terrain_root(home) / "current.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def current_ground(home: Path) -> tuple[str, Path] | None:
    """(build id, DEM path) of the live terrain build while its DEM file still exists."""
    meta = current_build(home)
    if meta is None or not Path(str(meta.get("dem", ""))).is_file():
        return None
    return str(meta["build_id"]), Path(str(meta["dem"]))


def sample_heights(
    dem_path: Path, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """DEM heights (nearest pixel) at lon/lat points; 0 outside the DEM and on nodata."""
    with rasterio.open(dem_path) as src:
        xs, ys = transform("EPSG:4326", src.crs, lon.tolist(), lat.tolist())
        rows, cols = (np.asarray(a, dtype=np.int64) for a in rowcol(src.transform, xs, ys))
        data = src.read(1, masked=True)
    out = np.zeros(len(lon), dtype=np.float64)
    inside = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
    values = data[rows[inside], cols[inside]]
    out[inside] = np.ma.filled(values.astype(np.float64), 0.0)
    return np.nan_to_num(out, nan=0.0)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]terrain[/bold] tiles"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
    )


_STATE: dict[str, Any] = {}  # shared with forked workers (copy-on-write)
PARALLEL_MIN = 64  # fewer tiles than this are not worth forking for


def _write_tile(tile: morecantile.Tile) -> bool:
    """Render and write one tile; False when the DEM does not reach it."""
    heights = render_tile(_STATE["dem"], tile, _STATE["size"])
    if heights is None:
        return False
    path: Path = _STATE["staging"] / str(tile.z) / str(tile.x) / f"{tile.y}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(encode(heights)))
    return True


def _write_tiles(tiles: list[morecantile.Tile], workers: int, progress: bool) -> int:
    """Write every tile (in a fork pool when it pays); how many were written."""
    written = 0
    with _progress(progress) as bar:
        task = bar.add_task("tiles", total=len(tiles))
        if workers > 1 and len(tiles) >= PARALLEL_MIN:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for done in pool.imap_unordered(_write_tile, tiles, chunksize=8):
                    written += done
                    bar.advance(task)
        else:
            for tile in tiles:
                written += _write_tile(tile)
                bar.advance(task)
    return written


def source_fingerprint(dem_path: Path, zooms: tuple[int, int], tile_size: int) -> str:
    """What a build is made from: the DEM's bytes, the zoom range and the tile size."""
    digest = hashlib.sha256(f"{zooms[0]}-{zooms[1]}-{tile_size}:".encode())
    with Path(dem_path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def build_terrain(
    dem_path: Path,
    home: Path,
    zooms: tuple[int, int] = (8, 15),
    tile_size: int = 256,
    progress: bool = True,
    workers: int = 2,
    force: bool = False,
) -> dict[str, Any]:
    """Write terrain-RGB tiles of the DEM for the zoom range and make them the live build.

    When the live build was made from the same DEM bytes, zooms and tile size, nothing is
    written (the result carries ``skipped: True``) unless ``force``.
    """
    if tile_size not in (256, 512):
        raise InvalidInput("tile size must be 256 or 512")
    fingerprint = source_fingerprint(Path(dem_path), zooms, tile_size)
    live = current_build(home)
    if (
        not force
        and live is not None
        and live.get("source") == fingerprint
        and (terrain_root(home) / "builds" / str(live["build_id"])).is_dir()
    ):
        return {**live, "skipped": True}
    dem = read_dem(Path(dem_path))
    west, south, east, north = dem.bounds
    tiles = list(TMS.tiles(west, south, east, north, zooms=list(range(zooms[0], zooms[1] + 1))))
    build_id = f"{time.time_ns():x}"
    root = terrain_root(home)
    staging = root / "builds" / f"{build_id}.tmp"
    _STATE.update(dem=dem, size=tile_size, staging=staging)
    try:
        written = _write_tiles(tiles, workers, progress)
    finally:
        _STATE.clear()
    meta = {
        "build_id": build_id,
        "dem": str(Path(dem_path).resolve()),
        "bounds": [west, south, east, north],
        "minzoom": zooms[0],
        "maxzoom": zooms[1],
        "tile_size": tile_size,
        "tiles": written,
        "source": fingerprint,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    staging.mkdir(parents=True, exist_ok=True)
    os.replace(staging, root / "builds" / build_id)
    tmp = root / "current.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp, root / "current.json")
    _prune(root)
    return meta


def _prune(root: Path) -> None:
    builds = sorted((root / "builds").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[KEEP_BUILDS:]:
        shutil.rmtree(old, ignore_errors=True)


def check_tile(z: int, x: int, y: int) -> None:
    """InvalidInput when z/x/y is not a tile of the Web Mercator grid."""
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"{z}/{x}/{y} is outside the Web Mercator tile grid")


def tile_file(home: Path, build_id: str, z: int, x: int, y: int) -> Path:
    """The PNG of a tile in a build; NotFound when the build has no such tile."""
    check_tile(z, x, y)
    if not BUILD_ID.match(build_id):
        raise NotFound("no such terrain build")
    path = terrain_root(home) / "builds" / build_id / str(z) / str(x) / f"{y}.png"
    if not path.is_file():
        raise NotFound(f"no terrain tile {z}/{x}/{y}")
    return path


@lru_cache(maxsize=2)
def flat_png(size: int) -> bytes:
    """A terrain-RGB tile at 0 m everywhere."""
    return png_bytes(encode(np.zeros((size, size))))


def resolve_tile(home: Path, meta: dict[str, Any], z: int, x: int, y: int) -> Path | bytes:
    """The built PNG of a tile, a flat tile inside the zoom range, NotFound outside it."""
    try:
        return tile_file(home, str(meta["build_id"]), z, x, y)
    except NotFound:
        if int(meta["minzoom"]) <= z <= int(meta["maxzoom"]):
            return flat_png(int(meta["tile_size"]))
        raise


def tilejson(meta: dict[str, Any], tiles_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of a terrain build (`encoding: mapbox`)."""
    west, south, east, north = meta["bounds"]
    center_zoom = min(meta["maxzoom"], max(meta["minzoom"], 12))
    return {
        "tilejson": "3.0.0",
        "name": "terrain",
        "description": "Terrain-RGB elevation: height = -10000 + (R*65536 + G*256 + B) * 0.1",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": meta["minzoom"],
        "maxzoom": meta["maxzoom"],
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, center_zoom],
        "encoding": "mapbox",
        "tileSize": meta["tile_size"],
        "format": "png",
    }
