"""PMTiles v3 archives of vector tiles, and the public edge export (issue 15 §4).

`export_public` writes every public layer as one archive `<layer>.<data token>.pmtiles` of the
gzip MVT tiles the server itself serves anonymous callers (the same `TileService` path, public
audience, no row scope), plus `index.json` naming each layer's current archive. An archive's name
changes whenever its data does, so a CDN may cache archives for ever; only `index.json` changes
in place (tiles/publish.py uploads both with the matching cache headers). Empty tiles are left
out; clients overzoom above an archive's `maxzoom`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType, tileid_to_zxy, zxy_to_tileid
from pmtiles.writer import Writer

from geo.errors import InvalidInput
from geo.scope import PUBLIC
from layers import catalog
from layers.catalog import Layer
from tiles.seed import cli_service, prepare, walk
from tiles.service import TileService
from tiles.tilejson import WORLD, tilejson

INDEX = "index.json"
INDEX_FORMAT = "djmap-pmtiles-index/1"
AUDIENCE = "public"
SUFFIX = ".pmtiles"
DEFAULT_ZOOMS = list(range(0, 17))  # z0-16: the cluster tables reach z16; deeper tiles overzoom
Progress = Callable[[str, int], None]  # (layer id, tiles written so far)
TileList = list[tuple[int, bytes]]  # (PMTiles tile id, gzip MVT), sorted by tile id


@dataclass(frozen=True)
class Archive:
    """One layer's archive as `index.json` names it (`archive` None: the layer has no tiles)."""

    layer: str
    archive: str | None
    token: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    tiles: int
    bytes: int


def public_layers() -> tuple[Layer, ...]:
    """The layers anonymous callers may see (the archives' audience), in stacking order."""
    return tuple(x for x in catalog.visible(AUDIENCE) if x.audience == AUDIENCE)


def archive_name(layer_id: str, token: str) -> str:
    """`<layer>.<data token>.pmtiles`: a new name for every new version of the data."""
    return f"{layer_id}.{token}{SUFFIX}"


def layer_zooms(layer: Layer, zooms: Iterable[int]) -> list[int]:
    """The requested zooms inside the layer's range."""
    return sorted(z for z in set(zooms) if layer.minzoom <= z <= layer.maxzoom)


def archive_metadata(
    doc: dict[str, Any], token: str, minzoom: int, maxzoom: int, audience: str = AUDIENCE
) -> dict[str, Any]:
    """The archive's JSON metadata: the layer's TileJSON (vector_layers, bounds, centre) without
    the origin's tile URLs, its zooms those of the archive, and the data token."""
    meta = {k: v for k, v in doc.items() if k != "tiles"}
    west, south, east, north = doc["bounds"]
    meta |= {
        "type": "overlay",
        "format": "pbf",
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "center": [(west + east) / 2, (south + north) / 2, max(minzoom, min(maxzoom, 12))],
        "vector_layers": [
            {**v, "minzoom": minzoom, "maxzoom": maxzoom} for v in doc["vector_layers"]
        ],
        "djmap": {"token": token, "audience": audience},
    }
    return meta


def write_archive(path: Path, tiles: TileList, meta: dict[str, Any]) -> int:
    """Write gzip MVT `tiles` and `meta` (archive_metadata) as a PMTiles v3 file, atomically
    (a temporary file renamed into place); return its size in bytes."""
    if not tiles:
        raise InvalidInput(f"no tiles to write to {path.name}")
    west, south, east, north = meta["bounds"]
    lon, lat, zoom = meta["center"]
    header = {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": int(west * 1e7),
        "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7),
        "max_lat_e7": int(north * 1e7),
        "center_zoom": int(zoom),
        "center_lon_e7": int(lon * 1e7),
        "center_lat_e7": int(lat * 1e7),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with part.open("wb") as f:
            writer = Writer(f)
            for tileid, gz in sorted(tiles):  # clustered: directories and data in tile id order
                writer.write_tile(tileid, gz)
            writer.finalize(header, meta)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path.stat().st_size


async def render_layer(
    service: TileService,
    layer: Layer,
    zooms: list[int],
    progress: Progress | None = None,
    audience: str = AUDIENCE,
) -> tuple[TileList, str]:
    """The layer's non-empty tiles at the zooms as `audience` is served them (the public: as an
    anonymous caller) and the one data token they were all served under (InvalidInput when the
    data changed during the walk: export again)."""
    tiles: TileList = []
    tokens: set[str] = set()
    who = PUBLIC if audience == AUDIENCE else None
    async for tile, served in walk(service, layer, zooms, audience, {}, who, prepared=True):
        tiles.append((zxy_to_tileid(tile.z, tile.x, tile.y), served.tile.gz))
        tokens.add(served.token)
        if progress:
            progress(layer.id, len(tiles))
    if len(tokens) > 1:
        raise InvalidInput(f"the data of {layer.id} changed during the export; run it again")
    return tiles, next(iter(tokens), "")


async def write_layer(
    service: TileService,
    layer: Layer,
    path_of: Callable[[str], Path],
    zooms: list[int],
    progress: Progress | None = None,
    audience: str = AUDIENCE,
) -> Archive | None:
    """Render the layer (its derived builds made) and write its archive to `path_of(token)`
    (None when no tile has a feature)."""
    tiles, token = await render_layer(service, layer, zooms, progress, audience)
    if not tiles:
        return None
    path = path_of(token)
    doc = await tilejson(service, layer, audience, "", {})
    zs = [tileid_to_zxy(t)[0] for t, _ in tiles]
    meta = archive_metadata(doc, token, min(zs), max(zs), audience)
    size = await asyncio.to_thread(write_archive, path, tiles, meta)
    w, s, e, n = meta["bounds"]
    return Archive(layer.id, path.name, token, min(zs), max(zs), (w, s, e, n), len(tiles), size)


async def export_layer(
    service: TileService,
    layer: Layer,
    out: Path,
    zooms: list[int],
    progress: Progress | None = None,
) -> Archive | None:
    """The layer's public archive of its current data in `out` (an entry with no archive when
    it has no features; None outside its zooms). An archive of this data token already there is
    kept as it is: archives never change in place (a CDN may hold them for a year)."""
    levels = layer_zooms(layer, zooms)
    if not levels:
        return None
    await prepare(service, layer)
    token = await service.token(layer)
    path = out / archive_name(layer.id, token)
    if path.is_file():
        return existing(path, layer.id, token, levels)
    known = read_index(out).get(layer.id)
    if known is not None and known.archive is None and known.token == token:
        return known  # no features in this data: nothing to walk again

    def path_of(data_token: str) -> Path:
        return out / archive_name(layer.id, data_token)

    found = await write_layer(service, layer, path_of, levels, progress)
    return found or Archive(layer.id, None, token, levels[0], levels[-1], WORLD, 0, 0)


def existing(path: Path, layer_id: str, token: str, levels: list[int]) -> Archive:
    """The index entry of an archive already written, read from its header and metadata
    (InvalidInput when it was written for other zooms: export into another folder)."""
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        header, meta = reader.header(), reader.metadata()
    zooms = (header["min_zoom"], header["max_zoom"])
    if zooms != (levels[0], levels[-1]):
        raise InvalidInput(
            f"{path.name} holds zooms {zooms[0]}-{zooms[1]}, not {levels[0]}-{levels[-1]}; "
            "archives never change in place: export into another folder"
        )
    w, s, e, n = (float(v) for v in meta["bounds"])
    tiles, size = int(header["addressed_tiles_count"]), path.stat().st_size
    return Archive(layer_id, path.name, token, zooms[0], zooms[1], (w, s, e, n), tiles, size)


def read_index(folder: Path) -> dict[str, Archive]:
    """The archives `index.json` in `folder` names, by layer (empty when there is none)."""
    path = folder / INDEX
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != INDEX_FORMAT:
            raise ValueError(doc.get("format"))
        layers: dict[str, dict[str, Any]] = doc["layers"]
        return {k: Archive(**{**v, "bounds": tuple(v["bounds"])}) for k, v in layers.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(f"{path} is not a djmap PMTiles index ({INDEX_FORMAT})") from None


def write_index(folder: Path, archives: Iterable[Archive]) -> Path:
    """Write `index.json` (atomically): the current archive of each layer."""
    doc = {
        "format": INDEX_FORMAT,
        "audience": AUDIENCE,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": {a.layer: asdict(a) for a in archives},
    }
    path = folder / INDEX
    part = folder / f".{INDEX}.{os.getpid()}.part"
    part.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    part.replace(path)
    return path


def export_public(
    url: str,
    out: Path,
    zooms: list[int] | None = None,
    progress: Progress | None = None,
    on_layer: Callable[[Layer], None] | None = None,
) -> list[Archive]:
    """Write every public layer's archive into `out` and then `index.json` naming them (a layer
    with no features has no archive and no entry); return the archives."""
    layers = public_layers()
    levels = zooms if zooms is not None else DEFAULT_ZOOMS

    async def run() -> list[Archive]:
        done: list[Archive] = []
        async with cli_service(url, None, layers) as service:
            for layer in layers:
                if on_layer:
                    on_layer(layer)
                found = await export_layer(service, layer, out, levels, progress)
                if found is not None:
                    done.append(found)
        return done

    out.mkdir(parents=True, exist_ok=True)
    archives = asyncio.run(run())
    write_index(out, archives)
    return archives


def export_file(
    url: str,
    layer_id: str,
    zooms: list[int],
    out: Path,
    audience: str = AUDIENCE,
    progress: Progress | None = None,
) -> int:
    """Write one layer's tiles as `audience` is served them to the PMTiles file `out` (zooms
    outside the layer's range left out); return the number of tiles."""
    layer = catalog.get(layer_id)
    levels = layer_zooms(layer, zooms)
    if not levels:
        raise InvalidInput(
            f"layer {layer_id!r} has tiles at zooms {layer.minzoom}..{layer.maxzoom}"
        )

    async def run() -> Archive | None:
        async with cli_service(url, None, (layer,)) as service:
            await prepare(service, layer)
            return await write_layer(service, layer, lambda _: out, levels, progress, audience)

    found = asyncio.run(run())
    if found is None:
        raise InvalidInput(f"layer {layer_id!r} has no features to export")
    return found.tiles
