"""The covering step of a coverage run on Dask: demand points partitioned by H3 cells, each cell
with its halo of sites (issue 15 §3).

The single process finds, for every demand point, the site that covers it (`covering_straight`
on the whole area's projection, or the first walking service area that holds it). Here the points
are grouped by H3 cell (geo/analysis/partitions.py), whole cells packed into the partitions of
a dask-geopandas frame (sent to the workers once, their geometry made there), and every cell
runs the *same* functions on its own points and the sites of its halo, with the run's one
`Metric` (same projection, same error bound) shipped to the workers. The halo holds every site the single process could have found for those points, so each
point gets the same answer, in the global numbering of the sites.

Workers get public things only (demand points, which are buildings or atom centres carrying atom
shares, and service points); they return one site index per point, and every published figure is
made afterwards, once, by the caller (geo/analysis/coverage.py).
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
from distributed.diagnostics.plugin import WorkerPlugin
from shapely.geometry.base import BaseGeometry

from geo.analysis.demand import Points
from geo.analysis.metric import Metric, covering_polygons, covering_straight
from geo.analysis.partitions import cell_groups, halo_box, in_box, part_cells

TASKS_PER_WORKER = 4  # partitions per worker (whole H3 cells each)
MIN_POINTS_PER_TASK = 5_000  # below this a task costs more to send than to run


def cover_cell(lon: np.ndarray, lat: np.ndarray, sites: Points, metric: Metric,
               polygons: dict[int, BaseGeometry], mode: str) -> np.ndarray:  # fmt: skip
    """The covering site (global index, -1 = none) of each point of one cell, from its halo."""
    points = Points(lon, lat, np.ones(len(lon)))
    if mode != "straight":
        x0, y0, x1, y1 = float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())
        near = {
            j: p for j, p in polygons.items()
            if p.bounds[0] <= x1 and p.bounds[2] >= x0 and p.bounds[1] <= y1 and p.bounds[3] >= y0
        }  # fmt: skip
        return covering_polygons(points, near)
    halo = in_box(sites.lon, sites.lat, halo_box(lon, lat, metric.r * (1 + 3 * metric.eps)))
    local = Points(sites.lon[halo], sites.lat[halo], sites.weight[halo])
    found = covering_straight(metric, points, metric.xy(lon, lat), local)
    return np.where(found >= 0, halo[np.maximum(found, 0)] if len(halo) else -1, -1)


def cover_partition(part: gpd.GeoDataFrame, sites: Points, metric: Metric,
                    polygons: dict[int, BaseGeometry], mode: str) -> pd.DataFrame:  # fmt: skip
    """`cover_cell` for every H3 cell of one partition: (i, site) rows."""
    out = [pd.DataFrame({"i": pd.Series(dtype="int64"), "site": pd.Series(dtype="int64")})]
    part = _geo(part)
    for _, cell in part.groupby("part", sort=False):
        lon, lat = cell.geometry.x.to_numpy(), cell.geometry.y.to_numpy()
        site = cover_cell(lon, lat, sites, metric, polygons, mode)
        out.append(pd.DataFrame({"i": cell["i"].to_numpy(), "site": site.astype("int64")}))
    return pd.concat(out, ignore_index=True)


def _geo(part: pd.DataFrame) -> gpd.GeoDataFrame:
    """The partition as a GeoDataFrame. A worker that had not imported dask_geopandas when a
    shuffle's output reached it concatenates a pandas frame, its geometry as shapely objects or,
    after the P2P shuffle's Arrow transfer, as WKB."""
    if isinstance(part, gpd.GeoDataFrame):
        return part
    geometry = part["geometry"]
    if len(geometry) and isinstance(geometry.iloc[0], bytes):
        geometry = gpd.GeoSeries.from_wkb(geometry.to_numpy(), index=part.index, crs="EPSG:4326")
    return gpd.GeoDataFrame(part.drop(columns="geometry"), geometry=gpd.GeoSeries(geometry))


class ImportGeo(WorkerPlugin):
    """Imports dask_geopandas on every worker (now and later ones), so that frames moved between
    workers are put back together as GeoDataFrames."""

    def setup(self, worker: Any) -> None:
        import dask_geopandas  # noqa: F401  (registers its dispatch functions)


def demand_frame(client: Any, demand: Points, tasks: int) -> Any:
    """The demand points as a dask-geopandas frame (row number `i`, H3 partition cell `part`,
    point geometry made on the workers) whose partitions hold whole cells, about `tasks` of them."""
    cells = part_cells(demand.lon, demand.lat)
    target = max(MIN_POINTS_PER_TASK, -(-len(demand) // tasks))
    chunks = []
    for g in cell_groups(cells, target):
        columns = {"i": g.astype(np.int64), "lon": demand.lon[g], "lat": demand.lat[g]}
        chunks.append(pd.DataFrame({**columns, "part": cells[g]}))
    frame = dd.from_delayed(client.scatter(chunks), meta=chunks[0].iloc[:0], verify_meta=False)
    geometry = dask_geopandas.points_from_xy(frame, "lon", "lat", crs="EPSG:4326")
    return dask_geopandas.from_dask_dataframe(frame[["i", "part"]], geometry=geometry)


def covering_dask(client: Any, metric: Metric, demand: Points, existing: Points,
                  polygons: dict[int, BaseGeometry], mode: str) -> np.ndarray:  # fmt: skip
    """What `covering_straight` (straight) or `covering_polygons` (walk) gives for the whole
    demand, computed per H3 cell on the client's cluster."""
    covering = np.full(len(demand), -1, dtype=np.int64)
    if len(demand) == 0 or (len(existing) == 0 and not polygons):
        return covering
    client.register_plugin(ImportGeo(), name="djmap-import-geo")
    tasks = TASKS_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
    frame = demand_frame(client, demand, tasks)
    sites = Points(existing.lon, existing.lat, existing.weight)  # no labels to the workers
    sites_f, metric_f, polygons_f = client.scatter([sites, metric, polygons], broadcast=True)
    found = frame.map_partitions(
        cover_partition, sites_f, metric_f, polygons_f, mode,
        meta={"i": "int64", "site": "int64"},
    ).compute()  # fmt: skip
    covering[found["i"].to_numpy()] = found["site"].to_numpy()
    return covering
