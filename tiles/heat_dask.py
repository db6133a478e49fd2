"""Heat builds on Dask (issue 15 §3): the counting per H3 cell on the workers, the rule once here.

A heat build (tiles/heat.py) streams its layer's points in chunks and counts them per RES_MAX
cell, then publishes the fixed tree once over all the counts. With a Dask scheduler configured
(`DJMAP_DASK_SCHEDULER`), `counter()` gives a `ChunkCounter` that counts the first
`DJMAP_DASK_HEAT_MIN_POINTS` points in this process, as before, and sends every further chunk to
the cluster, where a worker counts it per cell. The counts are integers, added up here in any
order, so the totals, and the tree published from them, are those of the single process. Workers
only ever see one chunk of points and return counts per cell; nothing is published from them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import h3.api.basic_int as h3int
import numpy as np

from geo.analysis.dask_cluster import DaskSettings
from geo.privacy.tree import RES_MAX

IN_FLIGHT = 4  # chunks sent and not yet counted (bounds the memory a large layer holds here)
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def count_xy(xy: np.ndarray) -> Counter[int]:
    """Points (n × 2 lon, lat) per RES_MAX cell, as H3 integers."""
    cell = h3int.latlng_to_cell
    return Counter(cell(lat, lon, RES_MAX) for lon, lat in xy.tolist())


class ChunkCounter:
    """Counts chunks of (lon, lat) rows per RES_MAX cell: here up to `local_max` points, then
    on the client's cluster, a chunk per task."""

    def __init__(self, client: Any, local_max: int) -> None:
        self.client, self.local_max = client, local_max
        self.counts: Counter[int] = Counter()
        self.seen = 0
        self.pending: list[Any] = []
        self.remote_chunks = 0

    def add(self, chunk: Sequence[Sequence[float]]) -> None:
        """Count one chunk (here, or on a worker once `local_max` points were seen)."""
        xy = np.asarray([tuple(p) for p in chunk], dtype=np.float64).reshape(-1, 2)
        self.seen += len(xy)
        if self.seen <= self.local_max:
            self.counts.update(count_xy(xy))
            return
        self.pending.append(self.client.submit(count_xy, xy, pure=False))
        self.remote_chunks += 1
        if len(self.pending) >= IN_FLIGHT:
            self.counts.update(self.pending.pop(0).result())

    def total(self) -> Counter[int]:
        """Every point's count per cell (waits for the chunks still on the cluster)."""
        for done in self.client.gather(self.pending) if self.pending else []:
            self.counts.update(done)
        self.pending = []
        return self.counts


def _client(address: str) -> Any:
    """One client per scheduler address for this process (kept: builds come again)."""
    from distributed import Client

    with _lock:
        if address not in _clients:
            _clients[address] = Client(address, set_as_default=False)
        return _clients[address]


def counter(settings: DaskSettings | None = None) -> ChunkCounter | None:
    """A counter on the configured scheduler, or None (no scheduler: count in this process)."""
    s = settings or DaskSettings()
    if not s.scheduler:
        return None
    return ChunkCounter(_client(s.scheduler), s.heat_min_points)
