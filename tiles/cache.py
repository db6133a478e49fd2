"""Tile cache: an in-memory LRU in front of a persistent store on disk (`<home>/tiles`).

Keys carry the layer, its data-version token, the audience, the filters and z/x/y, so a write
(which changes the token) makes every stale tile unreachable at once; folders of superseded tokens
are removed in the background.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from isal import igzip  # ISA-L: the same gzip format, level 1 about 4× faster than zlib's


@dataclass(frozen=True)
class Tile:
    """A rendered tile: gzip body (empty for an empty tile), strong ETag, identity size."""

    gz: bytes
    etag: str
    size: int

    @property
    def raw(self) -> bytes:
        """The identity body."""
        return igzip.decompress(self.gz) if self.gz else b""


def make_tile(raw: bytes) -> Tile:
    """Compress a rendered body once (deterministic gzip: no mtime, fixed level) and name it by
    its content; the gzip bytes are hashed, a third of the raw size and as unique."""
    if not raw:
        return Tile(b"", '"' + hashlib.blake2b(b"", digest_size=12).hexdigest() + '"', 0)
    gz = igzip.compress(raw, compresslevel=1, mtime=0)
    return Tile(gz, f'"{hashlib.blake2b(gz, digest_size=12).hexdigest()}"', len(raw))


@dataclass(frozen=True)
class CacheKey:
    """Everything a tile's bytes depend on."""

    layer: str
    token: str
    audience: str
    filters: str
    z: int
    x: int
    y: int

    def path(self, root: Path) -> Path:
        """Where the tile lives on disk."""
        variant = hashlib.blake2b(
            f"{self.audience}|{self.filters}".encode(), digest_size=8
        ).hexdigest()
        return root / self.layer / self.token / variant / str(self.z) / str(self.x) / f"{self.y}.gz"


class TileCache:
    """Memory LRU (bounded by bytes) plus an optional disk store."""

    def __init__(self, root: Path | None, max_bytes: int = 256 * 2**20) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lru: OrderedDict[CacheKey, Tile] = OrderedDict()
        self._bytes = 0
        self._tokens: dict[str, str] = {}

    def get_memory(self, key: CacheKey) -> Tile | None:
        """The tile from memory, refreshed in the LRU order."""
        tile = self._lru.get(key)
        if tile is not None:
            self._lru.move_to_end(key)
        return tile

    async def get(self, key: CacheKey) -> Tile | None:
        """The tile from memory or disk, or None."""
        tile = self.get_memory(key)
        if tile is None and self.root is not None:
            tile = await asyncio.to_thread(self._read, key)
            if tile is not None:
                self._remember(key, tile)
        return tile

    async def put(self, key: CacheKey, tile: Tile) -> None:
        """Keep a tile in memory and on disk."""
        self._remember(key, tile)
        if self.root is not None:
            await asyncio.to_thread(self._write, key, tile)
            if self._tokens.get(key.layer) != key.token:
                self._tokens[key.layer] = key.token
                asyncio.get_running_loop().run_in_executor(None, self._prune, key.layer, key.token)

    def _remember(self, key: CacheKey, tile: Tile) -> None:
        old = self._lru.pop(key, None)
        self._bytes -= len(old.gz) if old else 0
        self._lru[key] = tile
        self._bytes += len(tile.gz) + 200
        while self._bytes > self.max_bytes and self._lru:
            _, dropped = self._lru.popitem(last=False)
            self._bytes -= len(dropped.gz) + 200

    def _read(self, key: CacheKey) -> Tile | None:
        assert self.root is not None
        try:
            gz = key.path(self.root).read_bytes()
        except OSError:
            return None
        raw = igzip.decompress(gz) if gz else b""
        return Tile(gz, make_tile(raw).etag, len(raw))

    def _write(self, key: CacheKey, tile: Tile) -> None:
        assert self.root is not None
        path = key.path(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(tile.gz)
        tmp.replace(path)

    def _prune(self, layer: str, token: str) -> None:
        assert self.root is not None
        folder = self.root / layer
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.name != token:
                shutil.rmtree(child, ignore_errors=True)

    def clear(self) -> None:
        """Forget every tile in memory."""
        self._lru.clear()
        self._bytes = 0
