"""Derived data under one scheme: built per data version, the previous build served until the next
is ready, started only by writes, the CLI or the scheduler (never by a GET).

A `Builder` knows one derived product (a layer's cluster tables, its heat cells, the 3D Tiles of
the buildings, the terrain, the page figures): the data version it should be built for
(`wanted`), how to find the last build in its store (`load`, a read) and how to build it
(`build`). `DerivedBuilds` holds them all: readers ask it for the build to serve (`latest`,
`get`); the scheduler task it runs wakes on every data change the `VersionTracker` hears (LISTEN/
NOTIFY), on `notify_write()` and on a slow tick, and rebuilds what is stale, one build at a time
per lane (database work, subprocesses). `status()` is what `GET /api/builds` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from geo.db import pool as gpool
from geo.errors import DjmapError
from tiles.versions import VersionMap, VersionTracker

log = logging.getLogger(__name__)
SETTLE_S = 0.2  # a burst of writes (one import bumps several tables) makes one pass
TICK_S = 60.0  # a pass this often anyway: a notification missed is a build late by a minute
RETRY_S = 30.0  # a failed build is tried again after this long, or at once after a new write
State = Literal["ready", "stale", "building", "missing", "failed"]


@dataclass(frozen=True)
class Built:
    """One finished build: the data version (token) it was made from and what readers use."""

    token: str
    value: Any = None
    built_at: float | None = None  # unix time


class Builder(Protocol):
    """One derived product (see the module docstring)."""

    name: str  # unique, e.g. "clusters:<layer>", "heat:<layer>", "3dtiles", "terrain"
    kind: str  # clusters | heat | 3dtiles | terrain | pagedata
    auto: bool  # False: built only from its own CLI command (terrain needs a DEM)
    reload: bool  # its store is files other processes write: re-read on every `get`
    lane: str  # builds of one lane run one at a time ("db", "process")

    async def wanted(self, versions: VersionMap) -> str | None:
        """The token a build made now would carry (None: not derived from the data versions)."""

    async def load(self) -> Built | None:
        """The last build in the store, if any (a read; never builds)."""

    async def build(self) -> Built:
        """Build from the current data (one snapshot) and return it; may find it already built."""


@dataclass
class Entry:
    """What the registry knows of one builder."""

    builder: Builder
    ready: Built | None = None
    wanted: str | None = None
    loaded: bool = False
    task: asyncio.Task[None] | None = None
    started: float | None = None  # unix time the running build began
    seconds: float | None = None  # how long the last build took
    error: str | None = None
    failed_token: str | None = None
    failed_at: float = 0.0
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def state(self) -> State:
        """ready / stale / building / missing / failed, as /api/builds shows it."""
        if self.task is not None:
            return "building"
        if self.error is not None:
            return "failed"
        if self.ready is None:
            return "missing"
        if self.wanted is not None and self.ready.token != self.wanted:
            return "stale"
        return "ready"


@dataclass(frozen=True)
class Status:
    """One builder's status (the body of /api/builds, one item)."""

    name: str
    kind: str
    state: State
    built_version: str | None
    wanted_version: str | None
    built_at: float | None
    seconds: float | None
    building_since: float | None
    error: str | None


class DerivedBuilds:
    """The registry of derived builds and their scheduler (see the module docstring)."""

    def __init__(
        self, versions: VersionTracker, builders: Iterable[Builder], watch: bool = True
    ) -> None:
        self.versions = versions
        self.watch = watch
        self._entries = {b.name: Entry(b) for b in builders}
        self._lanes: dict[str, asyncio.Semaphore] = {}
        self._wake = asyncio.Event()
        self._kicked = False  # a write asked for builds (they run even when not watching)
        self._loop: asyncio.Task[None] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every builder's name."""
        return tuple(self._entries)

    async def start(self) -> None:
        """Start the scheduler: its first pass loads the builds in the stores (and, when
        watching, builds what is stale)."""
        if self.watch:
            self.versions.on_change(self._changed)
        self._loop = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    def notify_write(self) -> None:
        """A write committed: rebuild what it made stale (also when not watching)."""
        self._kicked = True
        self._wake.set()

    def _changed(self) -> None:
        self._wake.set()

    def latest(self, name: str) -> Built | None:
        """The build to serve now, from memory (any data version; None before the first)."""
        return self._entries[name].ready

    async def get(self, name: str) -> Built | None:
        """The build to serve: the latest one, re-read for file stores. A process that has just
        started first waits for the scheduler's first look (the build in the store, and the build
        of the current data when that one is stale and due): it serves the data of its start,
        then the last build while the next is made. Never builds."""
        entry = self._entries[name]
        if entry.builder.reload:
            entry.ready = await entry.builder.load()
            entry.loaded = True
            return entry.ready
        if self._loop is not None and not entry.settled.is_set():
            await entry.settled.wait()
        return entry.ready

    async def fresh(self, name: str) -> bool | None:
        """True when the build served now is of the current data (None: versions unknown)."""
        entry = self._entries[name]
        try:
            entry.wanted = await entry.builder.wanted(await self.versions.current())
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                raise
            return None
        return entry.ready is not None and entry.ready.token == entry.wanted

    async def refresh(self) -> None:
        """Re-read what `status` shows: the data versions and the file stores (reads only)."""
        versions = await self.versions.current()
        for entry in self._entries.values():
            if entry.builder.reload:
                entry.ready, entry.loaded = await entry.builder.load(), True
            entry.wanted = await entry.builder.wanted(versions)

    async def build_now(self, name: str) -> Built:
        """Build one product now and wait for it (the CLI and the write path)."""
        entry = self._entries[name]
        if entry.task is None:
            entry.task = asyncio.get_running_loop().create_task(self._build(entry, raise_=True))
        await asyncio.shield(entry.task)
        if entry.error is not None or entry.ready is None:
            raise RuntimeError(f"building {name} failed: {entry.error or 'nothing built'}")
        return entry.ready

    def status(self) -> list[Status]:
        """Every builder's status, in registration order."""
        return [
            Status(
                name=name,
                kind=e.builder.kind,
                state=e.state(),
                built_version=e.ready.token if e.ready else None,
                wanted_version=e.wanted,
                built_at=e.ready.built_at if e.ready else None,
                seconds=e.seconds,
                building_since=e.started,
                error=e.error,
            )
            for name, e in self._entries.items()
        ]

    def quiet(self) -> bool:
        """True when the scheduler has looked at every product, none is building and none is due:
        nothing is written until the data changes (a drill or a test waits for this before it
        pauses a replica's replay)."""
        return all(
            e.settled.is_set() and e.task is None and not self._due(e)
            for e in self._entries.values()
        )

    def summary(self) -> dict[str, int]:
        """How many builds are in each state (for /api/health)."""
        counts = dict.fromkeys(get_args(State), 0)
        for entry in self._entries.values():
            counts[entry.state()] += 1
        return counts

    async def close(self) -> None:
        """Stop the scheduler and every running build (a subprocess build is terminated)."""
        tasks = [self._loop] if self._loop is not None else []
        tasks += [e.task for e in self._entries.values() if e.task is not None]
        self._loop = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S if self.watch else None)
            await asyncio.sleep(SETTLE_S)
            self._wake.clear()
            build, self._kicked = self.watch or self._kicked, False
            try:
                await self._pass(build)
            except Exception as exc:  # the next wake tries again
                if gpool.as_unavailable(exc) is None:
                    log.exception("derived builds: a scheduler pass failed")

    async def _pass(self, build: bool) -> None:
        """Load what was never loaded, then start the builds that are stale."""
        for entry in self._entries.values():
            if not entry.loaded:
                await self._load(entry)
        try:
            versions = await self.versions.current()
            for entry in self._entries.values():
                entry.wanted = await entry.builder.wanted(versions)
                if build and self._due(entry):
                    entry.task = asyncio.get_running_loop().create_task(self._build(entry))
        finally:
            for entry in self._entries.values():
                if entry.task is None:
                    entry.settled.set()  # readers waiting for a first look stop waiting

    def _due(self, entry: Entry) -> bool:
        b, wanted = entry.builder, entry.wanted
        if not b.auto or wanted is None or entry.task is not None:
            return False
        if entry.ready is not None and entry.ready.token == wanted:
            return False
        failed_lately = time.monotonic() - entry.failed_at < RETRY_S
        return not (failed_lately and entry.failed_token == wanted)

    async def _load(self, entry: Entry) -> None:
        try:
            found = await entry.builder.load()
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                log.exception("derived builds: reading the last %s failed", entry.builder.name)
            return
        entry.ready = found or entry.ready
        entry.loaded = True

    async def _build(self, entry: Entry, raise_: bool = False) -> None:
        lane = self._lanes.setdefault(entry.builder.lane, asyncio.Semaphore(1))
        aimed = entry.wanted
        try:
            async with lane:
                entry.started, since = time.time(), time.monotonic()
                entry.ready = await entry.builder.build()
            entry.seconds, entry.error, entry.loaded = time.monotonic() - since, None, True
            if aimed is not None and entry.ready.token != aimed:
                await self._check_token(entry, aimed)
        except Exception as exc:
            self._failed(entry, exc)
            if raise_:
                raise
        finally:
            entry.task, entry.started = None, None
            entry.settled.set()
            self._wake.set()  # the data may have moved on while it ran

    async def _check_token(self, entry: Entry, aimed: str) -> None:
        """A build whose token differs from the data's, the data unchanged, would be rebuilt
        forever: it waits for the next change (or RETRY_S) instead."""
        assert entry.ready is not None
        entry.wanted = await entry.builder.wanted(await self.versions.current())
        if entry.wanted == aimed:
            entry.failed_token, entry.failed_at = aimed, time.monotonic()
            log.warning(
                "derived builds: %s built %s while its data calls for %s",
                entry.builder.name,
                entry.ready.token,
                aimed,
            )

    def _failed(self, entry: Entry, exc: Exception) -> None:
        entry.failed_token, entry.failed_at = entry.wanted, time.monotonic()
        outage = gpool.as_unavailable(exc)
        entry.error = str(outage or exc) or type(exc).__name__
        if isinstance(exc, DjmapError):  # said plainly; an outage is logged once by geo.db.pool
            if outage is None:
                log.warning("derived builds: %s: %s", entry.builder.name, exc)
        elif outage is None:
            log.exception("derived builds: building %s failed", entry.builder.name)
