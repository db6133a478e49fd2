"""The member spread of an analysis on Dask: the counting and the placing, never the rule.

`geo/privacy/atoms.py` makes the atoms from every member in the caller's scope: each member's
H3 cell at RES_MAX is counted, and the fixed tree is published top down once over all of those
counts. Here the counting (the per-member work) runs on the workers, chunk by chunk of a
dask frame of coordinates (no geometry is needed to name a cell, so none is made), and the counts
per cell are summed by cell (integers: the sum is exact in
any order). The tree is then published once, here, over all the counts (`Atoms.of_counts`): no
atom is ever made from a partition, and no partition's members are published. The buildings are
then placed in their atoms' regions on the workers (one lookup per building, the same function
as the single process), and the spread itself (each atom's share per building) is made here, in
the buildings' order, as the single process makes it. So the spread is the same, bit for bit.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import h3.api.basic_int as h3int
import numpy as np
import pandas as pd

from geo.analysis.dask_cluster import scattered_frame
from geo.analysis.demand import Points
from geo.privacy.atoms import Atoms, Spread, spread
from geo.privacy.tree import RES_MAX

TASKS_PER_WORKER = 4  # partitions per worker of the input frames
MIN_CHUNK = 10_000  # below this a task costs more to send than to run


def _chunk(client: Any, n: int) -> int:
    """Points per partition: TASKS_PER_WORKER partitions per worker, at least MIN_CHUNK."""
    workers = max(1, len(client.scheduler_info()["workers"]))
    return max(MIN_CHUNK, -(-n // (TASKS_PER_WORKER * workers)))


def _finest(part: pd.DataFrame) -> pd.DataFrame:
    """Points per RES_MAX cell (H3 integers) of one partition."""
    cell = h3int.latlng_to_cell
    xs, ys = part["lon"].tolist(), part["lat"].tolist()
    cells = pd.Series([cell(y, x, RES_MAX) for x, y in zip(xs, ys, strict=True)], dtype="uint64")
    counts = cells.value_counts()
    return pd.DataFrame({"cell": counts.index.to_numpy(), "n": counts.to_numpy(dtype=np.int64)})


def finest_counts(client: Any, lon: np.ndarray, lat: np.ndarray) -> Counter[str]:
    """The points' counts per RES_MAX cell (the cells of geo/privacy/tree.finest_cells): each
    partition counts its own, and the counts are added up here."""
    if len(lon) == 0:
        return Counter()
    meta = pd.DataFrame({"cell": pd.Series(dtype="uint64"), "n": pd.Series(dtype="int64")})
    frame = scattered_frame(client, {"lon": lon, "lat": lat}, _chunk(client, len(lon)))
    parts = frame.map_partitions(_finest, meta=meta).compute()
    sums = parts.groupby("cell")["n"].sum()
    return Counter({h3int.int_to_str(int(c)): int(n) for c, n in sums.items()})


def _place(part: pd.DataFrame, atoms: Atoms) -> pd.DataFrame:
    """Each building's atom (`Atoms.place`) in one partition: (i, atom) rows."""
    placed = atoms.place(part["lon"].to_numpy(), part["lat"].to_numpy())
    return pd.DataFrame({"i": part["i"].to_numpy(), "atom": pd.Series(placed, dtype=object)})


def place(client: Any, atoms: Atoms, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """`atoms.place(lon, lat)`, computed on the cluster, in the points' order."""
    if len(lon) == 0:
        return []
    (atoms_f,) = client.scatter([atoms], broadcast=True)
    meta = pd.DataFrame({"i": pd.Series(dtype="int64"), "atom": pd.Series(dtype=object)})
    rows = {"i": np.arange(len(lon), dtype=np.int64), "lon": lon, "lat": lat}
    frame = scattered_frame(client, rows, _chunk(client, len(lon)))
    found = frame.map_partitions(_place, atoms_f, meta=meta).compute()
    out: list[str | None] = [None] * len(lon)
    for i, atom in zip(found["i"].tolist(), found["atom"].tolist(), strict=True):
        out[i] = atom if isinstance(atom, str) else None
    return out


def spread_dask(client: Any, members: Points, places: Points) -> Spread:
    """`spread(Atoms.of(members), places…)` with the per-point work on the client's cluster."""
    atoms = Atoms.of_counts(finest_counts(client, members.lon, members.lat))
    placed = place(client, atoms, places.lon, places.lat)
    return spread(atoms, places.lon, places.lat, places.weight, placed)
