"""Distances for coverage: a local equidistant projection for search, geodesics for the verdict."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod, Transformer
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geo.analysis.demand import Points

GEOD = Geod(ellps="WGS84")


class Metric:
    """Local azimuthal equidistant projection plus exact geodesic checks near the limit."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, radius_m: float) -> None:
        lon0 = float((lon.min() + lon.max()) / 2) if len(lon) else 0.0
        lat0 = float((lat.min() + lat.max()) / 2) if len(lat) else 0.0
        self.tf = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
            always_xy=True,
        )
        extent = float(np.hypot(*self.xy(lon, lat).T).max()) if len(lon) else 0.0
        self.eps = (
            0.005 + 2 * (extent / 6371000.0) ** 2
        )  # projected distance error bound, with margin
        self.r = radius_m

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Projected metres, shape (n, 2)."""
        x, y = self.tf.transform(lon, lat)
        return np.column_stack([x, y])

    def exact(
        self, lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
    ) -> np.ndarray:
        """Geodesic metres between paired points."""
        if len(lon1) == 0:
            return np.empty(0)
        return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])

    def within(
        self, p: Points, p_xy: np.ndarray, q_lon: np.ndarray, q_lat: np.ndarray
    ) -> list[np.ndarray]:
        """For each query point, the indices of p within the radius (exact geodesic)."""
        if len(p) == 0 or len(q_lon) == 0:
            return [np.empty(0, dtype=np.int64) for _ in range(len(q_lon))]
        hits = cKDTree(p_xy).query_ball_point(self.xy(q_lon, q_lat), self.r * (1 + self.eps))
        out = []
        for k, idx in enumerate(hits):
            idx = np.array(sorted(idx), dtype=np.int64)
            d = self.exact(
                p.lon[idx], p.lat[idx], np.full(len(idx), q_lon[k]), np.full(len(idx), q_lat[k])
            )
            out.append(idx[d <= self.r])
        return out


def covering_straight(
    metric: Metric, demand: Points, d_xy: np.ndarray, sites_: Points
) -> np.ndarray:
    """Index of a site within the radius of each demand point (-1 = uncovered)."""
    site = np.full(len(demand), -1, dtype=np.int64)
    if len(sites_) == 0 or len(demand) == 0:
        return site
    tree = cKDTree(metric.xy(sites_.lon, sites_.lat))
    r, eps = metric.r, metric.eps
    d, j = tree.query(d_xy, k=1, distance_upper_bound=r * (1 + eps))
    sure = d <= r * (1 - eps)
    site[sure] = j[sure]
    band = np.flatnonzero(np.isfinite(d) & ~sure)
    if len(band):
        k = min(8, len(sites_))
        dk, jk = tree.query(d_xy[band], k=k, distance_upper_bound=r * (1 + eps))
        dk, jk = dk.reshape(len(band), k), jk.reshape(len(band), k)
        for col in range(k):
            open_ = (site[band] < 0) & np.isfinite(dk[:, col])
            rows = band[open_]
            cand = jk[open_, col]
            exact = metric.exact(
                demand.lon[rows], demand.lat[rows], sites_.lon[cand], sites_.lat[cand]
            )
            site[rows[exact <= r]] = cand[exact <= r]
    return site


def covering_polygons(demand: Points, polygons: dict[int, BaseGeometry]) -> np.ndarray:
    """Index of the first (lowest) site whose service area contains each demand point (-1 = none)."""
    site = np.full(len(demand), -1, dtype=np.int64)
    for j in sorted(polygons):
        poly = polygons[j]
        x0, y0, x1, y1 = poly.bounds
        cand = np.flatnonzero(
            (site < 0)
            & (demand.lon >= x0)
            & (demand.lon <= x1)
            & (demand.lat >= y0)
            & (demand.lat <= y1)
        )
        inside = shapely.contains_xy(poly, demand.lon[cand], demand.lat[cand])
        site[cand[inside]] = j
    return site
