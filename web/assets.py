"""Static files of the pages (web/static), with precompressed .gz twins sent to gzip clients."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from web.render import STATIC

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """A file to send: path on disk, media type, and whether it is the gzip twin."""

    path: Path
    media_type: str
    gzipped: bool


def find(relpath: str, accepts_gzip: bool) -> Asset | None:
    """The file under web/static for a URL path, or None (never escapes the folder)."""
    root = STATIC.resolve()
    path = (root / relpath).resolve()
    if root not in path.parents or not path.is_file() or path.suffix == ".gz":
        return None
    media = (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    twin = path.with_name(path.name + ".gz")
    if accepts_gzip and twin.is_file() and twin.stat().st_mtime >= path.stat().st_mtime:
        return Asset(twin, media, True)
    return Asset(path, media, False)
