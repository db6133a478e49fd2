"""Weights aggregated to H3 cells, with the privacy rule: no member count under 10 leaves the server."""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pandas as pd

PRIVACY_MIN = 10
MERGE_LEVELS = 3  # how many resolutions a small cell may be merged upward before it is suppressed


def _group(cells: pd.Series, weight: np.ndarray, count: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame({"cell": cells.to_numpy(), "weight": weight, "count": count})
    return df.groupby("cell", sort=True, as_index=False).sum()


def aggregate(
    lon: np.ndarray, lat: np.ndarray, weight: np.ndarray, res: int, private: bool
) -> tuple[pd.DataFrame, int]:
    """Cells (cell, res, weight, count, merged); with `private`, cells under 10 merge up or vanish.

    Returns the cells and how many small groups were suppressed at the coarsest level.
    """
    if len(lon) == 0:
        return pd.DataFrame(columns=["cell", "res", "weight", "count", "merged"]), 0
    cells = pd.Series(
        [h3.latlng_to_cell(float(y), float(x), res) for x, y in zip(lon, lat, strict=True)]
    )
    df = _group(cells, np.asarray(weight, dtype=float), np.ones(len(lon), dtype=np.int64))
    df["res"], df["merged"] = res, False
    if not private:
        return df, 0
    kept = []
    for level in range(res, max(res - MERGE_LEVELS, 0) - 1, -1):
        big = df["count"] >= PRIVACY_MIN
        kept.append(df[big])
        small = df[~big]
        if small.empty or level == max(res - MERGE_LEVELS, 0):
            break
        parents = pd.Series([h3.cell_to_parent(c, level - 1) for c in small["cell"]])
        df = _group(parents, small["weight"].to_numpy(), small["count"].to_numpy())
        df["res"], df["merged"] = level - 1, True
    suppressed = 0 if small.empty else len(small)
    out = pd.concat(kept, ignore_index=True) if kept else df.iloc[0:0]
    return out.sort_values(["res", "cell"], ascending=[False, True], ignore_index=True), suppressed


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


def private_number(value: float, count: int, private: bool) -> float | int | None:
    """A member aggregate as reported: None when 1..9 members are behind it (integers stay ints)."""
    if private and 0 < count < PRIVACY_MIN:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)
