"""TileJSON 3.0.0 documents of the catalog's layers."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from geo import compose
from layers.catalog import Layer, scalar_fields

if TYPE_CHECKING:
    from tiles.service import TileService

WORLD = (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
EXTENT_SQL = (
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
    "FROM (SELECT ST_Extent(t.{geom}) AS e FROM {source}) AS x"
)  # composed (geo/compose.py) from the layer's geometry column and source
# Heat layers take their extent from the published cells: the sources' extent would place the
# outermost member homes.
HEAT_EXTENT_SQL = (
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
    "FROM (SELECT ST_Extent(h.geom) AS e FROM heat_cells AS h WHERE h.layer = $1 AND h.token = $2) AS x"
)
TYPES = {"string": "String", "datetime": "String", "integer": "Number", "number": "Number"}
HEAT_FIELDS = {"cell": "String", "res": "Number", "count": "Number", "merged": "Boolean"}
CLUSTER_FIELDS = {"count": "Number", "cluster": "Boolean", "cell": "Number"}


def vector_fields(layer: Layer, audience: str) -> dict[str, str]:
    """Field name → TileJSON type of what an audience finds in the layer's tiles."""
    if layer.is_heat:
        return dict(HEAT_FIELDS)
    fields = {f.name: TYPES.get(f.type, "Boolean") for f in scalar_fields(layer, audience)}
    if layer.aggregation.method == "cluster":
        fields |= CLUSTER_FIELDS
        fields[f"{layer.aggregation.breakdown or 'kind'}:<value>"] = "Number"
    return fields


async def bounds(service: TileService, layer: Layer, token: str) -> tuple[float, ...]:
    """The layer's data extent in degrees (the world when empty), cached per data version."""
    cache = service.bounds
    if (layer.id, token) not in cache:
        if layer.is_heat:  # a heat layer's token names its published cells (service.token)
            row = await service.pool.fetchrow(HEAT_EXTENT_SQL, layer.id, token)
        else:
            stmt = compose.sql(
                EXTENT_SQL, geom=compose.raw(layer.geom_column), source=compose.raw(layer.source)
            )
            row = await service.pool.fetchrow(stmt.compile().text)
        found = tuple(float(v) for v in row) if row and row[0] is not None else WORLD
        cache[(layer.id, token)] = found
    return cache[(layer.id, token)]


async def tilejson(
    service: TileService, layer: Layer, audience: str, base: str, params: dict[str, str]
) -> dict[str, object]:
    """TileJSON 3.0.0 for a layer as an audience sees it."""
    token = await service.token(layer)
    west, south, east, north = await bounds(service, layer, token)
    query = urlencode({**params, "v": token})
    center_zoom = max(layer.minzoom, min(layer.maxzoom, 12))
    return {
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": f"{layer.title_zh} / {layer.title_en}",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{base}/api/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?{query}"],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, center_zoom],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.description,
                "minzoom": layer.minzoom,
                "maxzoom": layer.maxzoom,
                "fields": vector_fields(layer, audience),
            }
        ],
    }
