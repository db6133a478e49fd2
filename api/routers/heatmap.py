"""`GET /api/heatmap/{metric}`: published heat cells as JSON (members, activities); see tiles/heat.py."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.deps import TOKEN_OPTIONAL, get_principal
from api.models.errors import errors
from api.models.tiles import Heatmap, HeatmapGeoJSON
from api.routers.tiles import get_tiles
from geo.errors import Forbidden
from geo.scope import Principal
from layers import catalog
from tiles.heat import RES_MAX, K
from tiles.service import TileService

router = APIRouter(tags=["heatmap"])


@router.get(
    "/heatmap/{metric}",
    summary="Privacy-safe heat: counts per H3 cell (none under 10)",
    response_model=Heatmap | HeatmapGeoJSON,
    responses=errors(
        (403, "this heat is above the caller's audience"),
        (404, "unknown metric"),
        (503, "the database is away and the cells are not cached (Retry-After)"),
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def heatmap(
    metric: Annotated[
        str,
        Path(description="heat metric", json_schema_extra={"enum": list(catalog.heat_metrics())}),
    ],
    tiles: Annotated[TileService, Depends(get_tiles)],
    principal: Annotated[Principal, Depends(get_principal)],
    res: Annotated[int, Query(ge=0, le=RES_MAX, description="H3 resolution")] = 8,
    format: Annotated[Literal["json", "geojson"], Query(description="json or geojson")] = "json",
) -> Heatmap | HeatmapGeoJSON:
    """Published cells of resolution `res` plus merged remainders of coarser published cells."""
    layer = catalog.by_heat_metric(metric)  # NotFound for an unknown metric
    if not catalog.can_see(layer, principal.audience):
        raise Forbidden(f"{metric} heat is not available to the {principal.audience} audience")
    token, cells = await tiles.heat_cells(layer, res)  # the last build (a GET never builds)
    meta = {"metric": metric, "layer": layer.id, "res": res, "threshold": K, "version": token}
    if format == "geojson":
        features = [
            {
                "type": "Feature",
                "id": f"{c['cell']}{'-merged' if c['merged'] else ''}",
                "geometry": json.loads(str(c["geom"])),
                "properties": {k: c[k] for k in ("cell", "res", "count", "merged")},
            }
            for c in cells
        ]
        return HeatmapGeoJSON.model_validate(
            {"type": "FeatureCollection", **meta, "features": features}
        )
    items = [{k: c[k] for k in ("cell", "res", "count", "merged")} for c in cells]
    total = sum(int(c["count"]) for c in cells)
    return Heatmap.model_validate({**meta, "total": total, "cells": items})
