"""The sample district's boundary and a metric frame (UTM 51N) to build the synthetic city in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.settings import PROJECT_ROOT

BOUNDARY_FILE = PROJECT_ROOT / "data" / "samples" / "districts.geojson"
METRIC_CRS = "EPSG:32651"  # UTM zone 51N covers 120°E–126°E, i.e. all of 上城区


@dataclass
class Area:
    """The district polygon in WGS84 and in metres, with vectorised transforms between them."""

    code: str
    name: str
    level: str
    lonlat: BaseGeometry

    @classmethod
    def load(cls, path: Path = BOUNDARY_FILE) -> Area:
        """Read the committed boundary file (a FeatureCollection with one district)."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        feat = doc["features"][0]
        props = feat["properties"]
        return cls(
            str(props["code"]), str(props["name"]), str(props["level"]), shape(feat["geometry"])
        )

    @cached_property
    def _fwd(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)

    @cached_property
    def _inv(self) -> Transformer:
        return Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def to_metric(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 degrees → UTM metres."""
        x, y = self._fwd.transform(lon, lat)
        return np.asarray(x), np.asarray(y)

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTM metres → WGS84 degrees."""
        lon, lat = self._inv.transform(x, y)
        return np.asarray(lon), np.asarray(lat)

    @cached_property
    def metric(self) -> BaseGeometry:
        """The boundary in metres (prepared for fast predicates)."""
        geom = shapely.transform(
            self.lonlat, lambda c: np.column_stack(self.to_metric(c[:, 0], c[:, 1]))
        )
        shapely.prepare(geom)
        return geom

    def inside(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Which metric points lie inside the boundary shrunk by `margin` metres."""
        geom = self.metric if margin == 0 else self._shrunk(margin)
        return np.asarray(shapely.contains_xy(geom, x, y))

    def _shrunk(self, margin: float) -> BaseGeometry:
        geom = self.metric.buffer(-margin)
        shapely.prepare(geom)
        return geom
