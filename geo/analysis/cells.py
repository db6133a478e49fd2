"""Weights aggregated to H3 cells (buildings and population: not member figures).

Member cells are whole atoms, published by geo/privacy/atoms.py; `features` draws either.
"""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pandas as pd


def aggregate(
    lon: np.ndarray, lat: np.ndarray, weight: np.ndarray, res: int
) -> tuple[pd.DataFrame, int]:
    """Cells (cell, res, weight, count, merged) of the points at `res`, and 0 (none suppressed)."""
    columns = ["cell", "res", "weight", "count", "merged"]
    if len(lon) == 0:
        return pd.DataFrame(columns=columns), 0
    cells = [h3.latlng_to_cell(float(y), float(x), res) for x, y in zip(lon, lat, strict=True)]
    df = (
        pd.DataFrame({"cell": cells, "weight": np.asarray(weight, dtype=float), "count": 1})
        .groupby("cell", sort=True, as_index=False)
        .sum()
    )
    df["res"], df["merged"] = res, False
    return df[columns], 0


def features(cells: pd.DataFrame, counts: bool) -> list[dict[str, Any]]:
    """GeoJSON features of the cells (polygon rings in lon/lat)."""
    out = []
    cols = (cells["cell"], cells["res"], cells["weight"], cells["count"], cells["merged"])
    for cell, res, weight, count, merged in zip(*cols, strict=True):
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        ring.append(ring[0])
        props: dict[str, Any] = {
            "layer": "uncovered_cell",
            "h3": cell,
            "resolution": int(res),
            "weight": round(float(weight), 2),
            "merged": bool(merged),
        }
        if counts:
            props["count"] = int(count)
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": props,
            }
        )
    return out
