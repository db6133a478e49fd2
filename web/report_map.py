"""The report's map as an inline PNG (matplotlib; a PNG prints in a fraction of the time an SVG
of hundreds of shapes takes): the area, the grids, the walking service
areas, the uncovered cells and the proposed sites, in the pages' palette (layers/style.py)."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from layers.style import ANALYSIS, hex_rgb, unit_rgba

GRID_LINE = "#b22222"
AREA_LINE = "#8c1414"
DPI = 170


def _rings(geometry: dict[str, Any] | None) -> list[list[list[float]]]:
    """Exterior rings of a Polygon or MultiPolygon (nothing for other shapes)."""
    if not geometry:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _polys(features: list[dict[str, Any]]) -> list[list[list[float]]]:
    return [ring for f in features for ring in _rings(f["geometry"])]


def _draw(ax: Any, data: dict[str, Any], coverage: dict[str, Any]) -> None:
    """Shapes as collections (one artist each: fast to draw however many there are)."""
    from matplotlib.collections import LineCollection, PolyCollection

    area, site = hex_rgb(ANALYSIS["service_area"]), hex_rgb(ANALYSIS["proposed_site"])
    served = _polys(coverage["service_areas"]["features"])
    ax.add_collection(PolyCollection(served, facecolors=unit_rgba(ANALYSIS["service_area"], 0.12),
                                     edgecolors=area, linewidths=0.5))  # fmt: skip
    holes = _polys(coverage["uncovered_cells"]["features"])
    ax.add_collection(PolyCollection(holes, facecolors=unit_rgba(ANALYSIS["uncovered"], 0.55),
                                     linewidths=0))  # fmt: skip
    grids = [ring for g in data["shapes"]["grids"] for ring in _rings(g)]
    ax.add_collection(LineCollection(grids, colors=GRID_LINE, linewidths=0.4, alpha=0.7))
    outline = _rings(data["shapes"]["area"])
    ax.add_collection(LineCollection(outline, colors=AREA_LINE, linewidths=1.6))
    pts = [(f["properties"]["lon"], f["properties"]["lat"])
           for f in coverage["service_areas"]["features"] if f["properties"].get("lon") is not None]  # fmt: skip
    if pts:
        ax.plot(*zip(*pts, strict=True), "o", ms=3.5, color=area, mec="white", mew=0.5)
    for p in coverage["proposed"]:
        ax.plot(p["lon"], p["lat"], marker="*", ms=13, color=site, mec="black", mew=0.6)
        ax.annotate(str(p["rank"]), (p["lon"], p["lat"]), xytext=(6, 6),
                    textcoords="offset points", fontsize=8, weight="bold")  # fmt: skip
    ax.autoscale_view()


def map_img(data: dict[str, Any], coverage: dict[str, Any]) -> str:
    """The map of one coverage run (baseline or scenario) as an <img> element (data URI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.6, 5.6))
    _draw(ax, data, coverage)
    lats = [pt[1] for ring in _rings(data["shapes"]["area"]) for pt in ring]
    mid = sum(lats) / len(lats) if lats else 30.0
    ax.set_aspect(1 / max(0.05, math.cos(math.radians(mid))))
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.2, lw=0.3)
    fig.tight_layout(pad=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return (
        f'<img alt="map" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
    )
