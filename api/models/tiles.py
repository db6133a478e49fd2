"""Map documents: the layer listing, TileJSON (vector and terrain), heat cells, the 3D Tiles tileset."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.models.ogc import Open


class Names(BaseModel):
    """A title in Chinese and English."""

    zh: str
    en: str


class LayerField(BaseModel):
    """A property of a layer's features, as the caller's audience sees it."""

    name: str
    type: str = Field(examples=["string"])
    title: Names


class LayerFilter(BaseModel):
    """A catalog filter: a query parameter of the layer's tiles and items."""

    name: str = Field(examples=["kind"])
    type: str = Field(examples=["str"])
    description: str
    choices: list[str]


class LayerTime(BaseModel):
    """The layer's time fields (start and optional end)."""

    start: str
    end: str | None


class Aggregation(BaseModel):
    """How the layer aggregates at low zooms."""

    method: str = Field(examples=["cluster"])
    cluster_below: int
    breakdown: str | None


class LegendEntry(BaseModel):
    """One row of a layer's legend: a colour and what it means."""

    color: list[int] = Field(description="RGBA 0-255", examples=[[180, 30, 30, 255]])
    zh: str
    en: str


class LayerInfo(Open):
    """One map layer for the caller's audience, with its versioned tile URL template."""

    id: str = Field(examples=["service_points"])
    title: Names
    description: str
    geometry_type: str = Field(examples=["Point"])
    minzoom: int
    maxzoom: int
    version: str = Field(description="data version token (the tiles' `v`)")
    tiles: str = Field(description="URL template with {z}/{x}/{y} (RFC 6570), not a link")
    tilejson: str
    collection: str | None = Field(description="OGC collection URL, null when not a collection")
    fields: list[LayerField]
    tile_fields: dict[str, str] = Field(description="vector tile field → MVT type")
    filters: list[LayerFilter]
    time: LayerTime | None
    aggregation: Aggregation
    deck: dict[str, Any] = Field(description="how the web map draws it (deck.gl layer props)")
    legend: list[LegendEntry] = Field(description="the palette of the tiles, pages and outputs")
    heatmap: str | None = Field(None, description="heat layers: the JSON cells URL")
    threshold: int | None = Field(None, description="heat layers: the smallest published count")


class LayerList(Open):
    """The layers the caller may see, in drawing order."""

    audience: str = Field(examples=["public"])
    layers: list[LayerInfo]


class VectorLayer(Open):
    """TileJSON `vector_layers` entry."""

    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]


class TileJSON(Open):
    """TileJSON 3.0.0."""

    tilejson: Literal["3.0.0"]
    name: str
    description: str
    version: str
    scheme: Literal["xyz"]
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float] = Field(min_length=4, max_length=4)
    center: list[float] = Field(min_length=3, max_length=3)
    vector_layers: list[VectorLayer] | None = Field(None, description="vector tiles")
    encoding: Literal["mapbox"] | None = Field(None, description="terrain-RGB tiles")
    tileSize: int | None = None
    format: str | None = Field(None, examples=["png"])


class HeatCell(BaseModel):
    """A published heat cell (count at least the threshold)."""

    cell: str = Field(description="H3 index")
    res: int
    count: int
    merged: bool = Field(description="a remainder of finer cells merged into this coarser one")


class HeatMeta(Open):
    """What every heat answer carries."""

    metric: str = Field(examples=["members"])
    layer: str
    res: int
    threshold: int
    version: str


class Heatmap(HeatMeta):
    """Heat cells as JSON."""

    total: int
    cells: list[HeatCell]


class HeatFeature(BaseModel):
    """A heat cell as a GeoJSON feature."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: HeatCell


class HeatmapGeoJSON(HeatMeta):
    """Heat cells as a GeoJSON FeatureCollection (`format=geojson`)."""

    type: Literal["FeatureCollection"]
    features: list[HeatFeature]


class TilesetAsset(Open):
    """3D Tiles `asset`."""

    version: str
    tilesetVersion: str | None = None


class Tileset(Open):
    """A 3D Tiles 1.0 tileset (content URIs carry the build id and are immutable)."""

    asset: TilesetAsset
    geometricError: float
    root: dict[str, Any] = Field(description="the root tile: boundingVolume, content, children …")
