"""The walking network read once into memory, and many-to-many nearest-k walking distances on it
with pandana (contraction hierarchies).

The graph is the pgRouting topology of `roads` (source, target, length_m), undirected. A point
(an H3 cell's centre, a service point) meets the network at its nearest vertex, the access leg
counted as straight walking in a local azimuthal equidistant projection; points farther than
MAX_SNAP_M from every vertex are off the network. A service point enters as its own node joined
to its vertex by an edge as long as its leg, so a path to it counts both legs.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo import compose

MAX_SNAP_M = 500.0
SPAN = 1024.0  # above every leg: (vertex, leg) pairs sort as vertex × SPAN + leg
Box = tuple[float, float, float, float]


@cache
def _edges_sql() -> str:
    return compose.sql_file(__file__, "sql/walk_edges.sql")


@dataclass(frozen=True)
class WalkGraph:
    """Vertices (projected metres) and undirected edges (indices into the vertices, metres)."""

    xy: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    length: np.ndarray
    tf: Transformer

    def project(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Lon/lat to the graph's metres, shape (n, 2)."""
        x, y = self.tf.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each point's nearest vertex and the leg to it in metres (-1 and inf: off network)."""
        if len(self.xy) == 0 or len(xy) == 0:
            return np.full(len(xy), -1), np.full(len(xy), np.inf)
        leg, node = cKDTree(self.xy).query(xy)
        off = leg > MAX_SNAP_M
        return np.where(off, -1, node), np.where(off, np.inf, leg)


def _projection(box: Box) -> Transformer:
    lon0, lat0 = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
        always_xy=True,
    )  # fmt: skip


def load(conn: object, box: Box) -> WalkGraph:
    """The routable roads in `box` as a graph (psycopg connection)."""
    vals = dict(zip(("x0", "y0", "x1", "y1"), (compose.value(float(v)) for v in box), strict=True))
    stmt = compose.sql(_edges_sql(), **vals)
    compiled = stmt.compile_psycopg()
    rows = conn.execute(compiled.text, compiled.args(dict(stmt.bound))).fetchall()  # type: ignore[attr-defined]
    tf = _projection(box)
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return WalkGraph(np.empty((0, 2)), empty, empty, np.empty(0), tf)
    a = np.asarray(rows, dtype=np.float64)
    ids, inv = np.unique(np.concatenate([a[:, 0], a[:, 1]]).astype(np.int64), return_inverse=True)
    lon, lat = np.empty(len(ids)), np.empty(len(ids))
    lon[inv], lat[inv] = np.concatenate([a[:, 3], a[:, 5]]), np.concatenate([a[:, 4], a[:, 6]])
    x, y = tf.transform(lon, lat)
    n = len(a)
    return WalkGraph(np.column_stack([x, y]), inv[:n], inv[n:], a[:, 2].copy(), tf)


def nearest_k(graph: WalkGraph, sites_xy: np.ndarray, points_xy: np.ndarray, k: int,
              limit_m: float) -> np.ndarray:  # fmt: skip
    """Walking metres from each point to its k nearest sites, ascending (inf: fewer than k within
    `limit_m`, or off the network), shape (len(points), k)."""
    out = np.full((len(points_xy), k), np.inf)
    s_node, s_leg = graph.snap(sites_xy)
    p_node, p_leg = graph.snap(points_xy)
    on = s_node >= 0
    if not on.any() or not (p_node >= 0).any():
        return out
    import pandana  # loads only when used (a C++ extension)

    n = len(graph.xy)
    site_nodes = n + np.arange(int(on.sum()))
    x = np.concatenate([graph.xy[:, 0], sites_xy[on, 0]])
    y = np.concatenate([graph.xy[:, 1], sites_xy[on, 1]])
    edges = pd.DataFrame({
        "from": np.concatenate([graph.src, s_node[on]]),
        "to": np.concatenate([graph.dst, site_nodes]),
        "w": np.concatenate([graph.length, s_leg[on]]),
    })  # fmt: skip
    with _quiet():
        net = pandana.Network(pd.Series(x), pd.Series(y), edges["from"], edges["to"],
                              edges[["w"]], twoway=True)  # fmt: skip
        net.set_pois("sites", limit_m, k, pd.Series(x[site_nodes]), pd.Series(y[site_nodes]))
        found = np.array(net.nearest_pois(limit_m, "sites", num_pois=k), dtype=np.float64)
    found[found >= limit_m] = np.inf
    keep = p_node >= 0
    out[keep] = found[p_node[keep]] + p_leg[keep, None]
    return out


@contextlib.contextmanager
def _quiet():  # type: ignore[no-untyped-def]
    """pandana's C++ side prints progress to stdout: send it to /dev/null meanwhile."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def costs_within(graph: WalkGraph, sites_xy: np.ndarray, points_xy: np.ndarray,
                 limit_m: float, chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every (point, site, walking metres) pair within `limit_m` (legs included), from scipy's
    Dijkstra bounded by the limit, a chunk of sites at a time. The points are grouped by their
    vertex and sorted by their leg, so a chunk costs sites × vertices (then a binary search per
    reached vertex), not sites × points: a city's 100,000 buildings share a few thousand vertices."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    s_node, s_leg = graph.snap(sites_xy)
    p_node, p_leg = graph.snap(points_xy)
    n = len(graph.xy)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if n == 0:
        return empty
    adj = coo_matrix(_simple(graph), shape=(n, n)).tocsr()
    at = np.where(p_node >= 0)[0]
    at = at[np.lexsort((p_leg[at], p_node[at]))]  # by vertex, then by leg
    verts, legs = p_node[at], p_leg[at]
    start = np.searchsorted(verts, np.arange(n + 1))  # vertex v's points: start[v]:start[v + 1]
    key = verts * SPAN + legs  # (vertex, leg) as one sorted number (legs < SPAN)
    cols = np.nonzero(start[1:] > start[:-1])[0]  # the vertices that have points
    out_p, out_s, out_d = [], [], []
    sites = np.where(s_node >= 0)[0]
    for k in range(0, len(sites), chunk):
        part = sites[k : k + chunk]
        d = dijkstra(adj, directed=False, indices=s_node[part], limit=limit_m)
        base = d[:, cols] + s_leg[part, None]  # site to the vertex, both legs but the point's
        si, ci = np.nonzero(base <= limit_m)
        v, base = cols[ci], base[si, ci]
        budget = np.minimum(limit_m - base, MAX_SNAP_M)  # the longest point leg still within
        count = np.searchsorted(key, v * SPAN + budget, side="right") - start[v]
        idx = np.repeat(start[v] - np.cumsum(count) + count, count) + np.arange(count.sum())
        out_p.append(at[idx])
        out_s.append(np.repeat(part[si], count))
        out_d.append(np.repeat(base, count) + legs[idx])
    if not out_p:
        return empty
    return np.concatenate(out_p), np.concatenate(out_s), np.concatenate(out_d)


def _simple(graph: WalkGraph) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The edges with parallel ones reduced to the shortest and loops dropped (a sparse matrix
    would add parallel edges up), zero lengths kept as edges."""
    a, b = np.minimum(graph.src, graph.dst), np.maximum(graph.src, graph.dst)
    order = np.lexsort((graph.length, b, a))
    a, b, w = a[order], b[order], graph.length[order]
    first = np.ones(len(a), bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    keep = first & (a != b)
    return np.maximum(w[keep], 1e-9), (a[keep], b[keep])
