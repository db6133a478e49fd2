"""`GET /api/layers`: the catalog's layers the caller's audience may see, with versioned tile URLs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.deps import TOKEN_OPTIONAL, get_principal
from api.models.errors import errors
from api.models.tiles import LayerInfo, LayerList
from api.routers.tiles import get_tiles
from geo.scope import Principal
from layers import catalog
from layers.catalog import Layer
from tiles.heat import K
from tiles.service import TileService
from tiles.tilejson import vector_fields

router = APIRouter(tags=["layers"])


def describe(layer: Layer, audience: str, base: str, token: str) -> LayerInfo:
    """One layer as the listing shows it to an audience."""
    fields = catalog.fields_for(layer, audience)
    item: dict[str, Any] = {
        "id": layer.id,
        "title": {"zh": layer.title_zh, "en": layer.title_en},
        "description": layer.description,
        "geometry_type": layer.geom_type,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "version": token,
        "tiles": f"{base}/api/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?v={token}",
        "tilejson": f"{base}/api/tiles/{layer.id}/tilejson.json",
        "collection": f"{base}/api/collections/{layer.id}" if layer.collection else None,
        "fields": [
            {"name": f.name, "type": f.type, "title": {"zh": f.title_zh, "en": f.title_en}}
            for f in fields
        ],
        "tile_fields": vector_fields(layer, audience),
        "filters": [
            {
                "name": f.name,
                "type": f.type,
                "description": f.description,
                "choices": list(f.choices),
            }
            for f in catalog.filters_for(layer, audience)
        ],
        "time": {"start": layer.time_field, "end": layer.time_end_field}
        if layer.time_field
        else None,
        "aggregation": {
            "method": layer.aggregation.method,
            "cluster_below": layer.aggregation.cluster_below,
            "breakdown": layer.aggregation.breakdown,
        },
        "deck": dict(layer.deck),
        "legend": [{"color": list(e.color), "zh": e.zh, "en": e.en} for e in layer.style.legend],
    }
    if layer.heat_metric:
        item["heatmap"] = f"{base}/api/heatmap/{layer.heat_metric}"
        item["threshold"] = K
    return LayerInfo.model_validate(item)


@router.get(
    "/layers",
    summary="Map layers the caller may see",
    response_model=LayerList,
    response_model_exclude_unset=True,
    responses=errors(503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def list_layers(
    request: Request,
    tiles: Annotated[TileService, Depends(get_tiles)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> LayerList:
    """The visible layers in catalog order, with tile URLs carrying their data versions."""
    audience = principal.audience
    layers = catalog.visible(audience)
    tokens = await tiles.tokens(layers)
    base = str(request.base_url).rstrip("/")
    items = [describe(layer, audience, base, tokens[layer.id]) for layer in layers]
    return LayerList(audience=audience, layers=items)
