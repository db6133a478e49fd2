"""A plausible synthetic relief for the district: two hills, a river valley, gentle noise; and its GeoTIFF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from geo.samples.area import Area

ARC_SECOND = 1.0 / 3600.0  # ~30 m at this latitude: the resolution of SRTM / Copernicus GLO-30
# (lon, lat, peak m, sigma m): roughly where 凤凰山/玉皇山 and 皋亭山 stand.
HILLS = ((120.156, 30.224, 230.0, 650.0), (120.236, 30.388, 300.0, 900.0))
# The Qiantang (钱塘江) runs along the south-east edge of the district.
RIVER = ((120.120, 30.186), (120.215, 30.232), (120.300, 30.283))


@dataclass
class Terrain:
    """Elevation in metres above sea level at metric positions of the district frame."""

    area: Area
    knolls: np.ndarray  # (k, 4): x, y, height, sigma

    @classmethod
    def make(cls, area: Area, rng: np.random.Generator) -> Terrain:
        """Fixed hills plus a few seeded knolls inside the district."""
        lon = np.array([h[0] for h in HILLS])
        lat = np.array([h[1] for h in HILLS])
        hx, hy = area.to_metric(lon, lat)
        fixed = np.column_stack([hx, hy, [h[2] for h in HILLS], [h[3] for h in HILLS]])
        minx, miny, maxx, maxy = area.metric.bounds
        k = 4
        extra = np.column_stack(
            [
                rng.uniform(minx, maxx, k),
                rng.uniform(miny, maxy, k),
                rng.uniform(12.0, 35.0, k),
                rng.uniform(300.0, 700.0, k),
            ]
        )
        return cls(area, np.vstack([fixed, extra]))

    def river_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance in metres to the river's centre line."""
        rx, ry = self.area.to_metric(
            np.array([p[0] for p in RIVER]), np.array([p[1] for p in RIVER])
        )
        best = np.full(np.shape(x), np.inf)
        for i in range(len(rx) - 1):
            ax, ay, bx, by = rx[i], ry[i], rx[i + 1], ry[i + 1]
            dx, dy = bx - ax, by - ay
            t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
            best = np.minimum(best, np.hypot(x - ax - t * dx, y - ay - t * dy))
        return best

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ground height (m) at metric points."""
        z = 7.0 + 1.5 * np.sin(x / 850.0) * np.cos(y / 1100.0)
        for hx, hy, h, s in self.knolls:
            z = z + h * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2.0 * s * s))
        d = self.river_distance(x, y)
        t = np.clip((d - 350.0) / 1400.0, 0.0, 1.0)
        valley = (
            t * t * (3.0 - 2.0 * t)
        )  # smoothstep: water level at the river, full height 1.75 km away
        return 2.0 + (z - 2.0) * valley

    def write_geotiff(self, path: Path, margin_deg: float = 0.01) -> None:
        """Write the DEM (EPSG:4326, 1 arc-second, float32, deflate) covering the district."""
        minx, miny, maxx, maxy = self.area.lonlat.bounds
        west = np.floor((minx - margin_deg) * 3600) / 3600
        north = np.ceil((maxy + margin_deg) * 3600) / 3600
        width = int(np.ceil((maxx + margin_deg - west) / ARC_SECOND))
        height = int(np.ceil((north - (miny - margin_deg)) / ARC_SECOND))
        lon = west + (np.arange(width) + 0.5) * ARC_SECOND
        lat = north - (np.arange(height) + 0.5) * ARC_SECOND
        glon, glat = np.meshgrid(lon, lat)
        x, y = self.area.to_metric(glon.ravel(), glat.ravel())
        z = self.elevation(x, y).reshape(height, width).astype(np.float32)
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 1,
            "dtype": "float32",
            "crs": "EPSG:4326",
            "transform": Affine(ARC_SECOND, 0.0, west, 0.0, -ARC_SECOND, north),
            "compress": "deflate",
            "predictor": 3,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "nodata": -9999.0,
        }
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.round(z, 2), 1)
            dst.update_tags(1, units="metre")
            dst.update_tags(SYNTHETIC="true", SOURCE="djmap sample generator (synthetic relief)")
