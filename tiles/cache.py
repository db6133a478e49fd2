"""Tile cache: an in-memory LRU in front of a persistent store on disk (`<home>/tiles`).

Keys carry the layer, its data-version token, the audience, the filters and z/x/y, so a write
(which changes the token) makes every stale tile unreachable at once; folders of superseded tokens
are removed in the background. The disk store is bounded (`DJMAP_TILE_CACHE_MB`): past the bound
the least recently used files go first, and a write the disk refuses (full, read-only) leaves the
tile served from memory, no `.tmp` file behind and one log line per run of failures.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from isal import igzip  # ISA-L: the same gzip format, level 1 about 4× faster than zlib's

log = logging.getLogger(__name__)
BLOCK = 4096  # a file takes whole blocks on disk: the bound counts them, not just its bytes
LOW_WATER = 0.9  # eviction goes down to this share of the bound, so it runs once per 10 % written
TMP_AGE_S = 60  # a .tmp older than this was left by a process that died mid-write


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


def disk_size(n: int) -> int:
    """Bytes a file of `n` bytes takes on disk (whole blocks, at least one)."""
    return max(1, -(-n // BLOCK)) * BLOCK


class DiskStore:
    """Files under `root`, at most `max_bytes` in all; the least recently used go first.

    The index (path → size, oldest first) is read from the disk on first use and again before an
    eviction, so files other worker processes wrote are counted too; reads refresh a file's mtime,
    which orders the files after a restart or a re-read."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._index: OrderedDict[Path, int] | None = None
        self._bytes = 0
        self._lock = threading.Lock()
        self._failures = 0  # writes refused in a row (logged once per run)

    @property
    def used(self) -> int:
        """Bytes the index counts (after the first scan)."""
        return self._bytes

    def read(self, path: Path) -> bytes | None:
        """The file's bytes (None when missing), marked as just used."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with suppress(OSError):
            os.utime(path)
        with self._lock:
            if self._index is not None and path in self._index:
                self._index.move_to_end(path)
        return data

    def write(self, path: Path, data: bytes) -> bool:
        """Store a file atomically; False (and no .tmp left) when the disk refuses it."""
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError as exc:
            with suppress(OSError):
                tmp.unlink()
            self._refused(exc)
            return False
        self._stored(path, disk_size(len(data)))
        return True

    def forget(self, path: Path) -> None:
        """Remove a file (a damaged one) from the disk and the index."""
        with suppress(OSError):
            path.unlink()
        with self._lock:
            if self._index is not None:
                self._bytes -= self._index.pop(path, 0)

    def _refused(self, exc: OSError) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        if first:
            log.warning(
                "tile cache: writing to %s failed (%s); tiles are still served, "
                "without a disk copy, until writes work again",
                self.root,
                exc,
            )

    def _stored(self, path: Path, size: int) -> None:
        with self._lock:
            if self._failures:
                log.warning("tile cache: disk writes work again after %d failures", self._failures)
                self._failures = 0
            if self._index is None:
                self._scan()
            assert self._index is not None
            self._bytes += size - self._index.pop(path, 0)
            self._index[path] = size
            if self._bytes > self.max_bytes:
                self._scan()
                self._evict(int(self.max_bytes * LOW_WATER))

    def _scan(self) -> None:
        """Re-read the index from the disk, oldest first (stale .tmp files are removed)."""
        found: list[tuple[float, Path, int]] = []
        now = time.time()
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if name.endswith(".tmp"):
                    if now - st.st_mtime > TMP_AGE_S:
                        with suppress(OSError):
                            path.unlink()
                    continue
                found.append((st.st_mtime, path, disk_size(st.st_size)))
        found.sort(key=lambda item: item[0])
        self._index = OrderedDict((path, size) for _, path, size in found)
        self._bytes = sum(size for _, _, size in found)

    def _evict(self, target: int) -> None:
        assert self._index is not None
        while self._bytes > target and self._index:
            path, size = self._index.popitem(last=False)
            self._bytes -= size
            with suppress(OSError):
                path.unlink()
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                try:
                    parent.rmdir()  # only when empty
                except OSError:
                    break
                parent = parent.parent


class TileCache:
    """Memory LRU (bounded by bytes) plus an optional disk store (bounded by `disk_bytes`)."""

    def __init__(
        self, root: Path | None, max_bytes: int = 256 * 2**20, disk_bytes: int = 512 * 2**20
    ) -> None:
        self.root = root if disk_bytes > 0 else None
        self.max_bytes = max_bytes
        self.disk = DiskStore(self.root, disk_bytes) if self.root is not None else None
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
        if tile is None and self.disk is not None:
            tile = await asyncio.to_thread(self._read, key)
            if tile is not None:
                self._remember(key, tile)
        return tile

    async def put(self, key: CacheKey, tile: Tile) -> None:
        """Keep a tile in memory and on disk (a write the disk refuses is logged, not raised)."""
        self._remember(key, tile)
        if self.disk is not None and self.root is not None:
            await asyncio.to_thread(self.disk.write, key.path(self.root), tile.gz)
            if self._tokens.get(key.layer) != key.token:
                self._tokens[key.layer] = key.token
                asyncio.get_running_loop().run_in_executor(None, self._prune, key.layer, key.token)

    def _remember(self, key: CacheKey, tile: Tile) -> None:
        old = self._lru.pop(key, None)
        self._bytes -= len(old.gz) + 200 if old else 0
        self._lru[key] = tile
        self._bytes += len(tile.gz) + 200
        while self._bytes > self.max_bytes and self._lru:
            _, dropped = self._lru.popitem(last=False)
            self._bytes -= len(dropped.gz) + 200

    def _read(self, key: CacheKey) -> Tile | None:
        assert self.disk is not None and self.root is not None
        path = key.path(self.root)
        gz = self.disk.read(path)
        if gz is None:
            return None
        try:
            raw = igzip.decompress(gz) if gz else b""
        except (OSError, EOFError, ValueError):  # damaged on disk: render it again
            self.disk.forget(path)
            return None
        return Tile(gz, f'"{hashlib.blake2b(gz, digest_size=12).hexdigest()}"', len(raw))

    def _prune(self, layer: str, token: str) -> None:
        assert self.root is not None
        folder = self.root / layer
        with suppress(OSError):
            for child in list(folder.iterdir()) if folder.is_dir() else ():
                if child.name != token:
                    shutil.rmtree(child, ignore_errors=True)

    def clear(self) -> None:
        """Forget every tile in memory."""
        self._lru.clear()
        self._bytes = 0
