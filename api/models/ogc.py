"""OGC API Features documents: links, landing page, conformance, collections, GeoJSON, queryables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DateTimeText = str  # RFC 3339 as the core wrote it (kept verbatim, "+00:00" not rewritten to "Z")


class Open(BaseModel):
    """A response document: the listed fields are always there; more may be added later."""

    model_config = ConfigDict(extra="allow")


class Link(BaseModel):
    """An OGC link object."""

    href: str
    rel: str = Field(examples=["self"])
    type: str | None = Field(None, examples=["application/geo+json"])
    title: str | None = None


class Landing(Open):
    """The landing page at /api."""

    title: str
    description: str
    links: list[Link]


class Conformance(Open):
    """The conformance classes this API implements."""

    conformsTo: list[str]


class SpatialExtent(Open):
    """Bounding box(es) in CRS84."""

    bbox: list[list[float]] = Field(examples=[[[120.13, 30.19, 120.30, 30.40]]])
    crs: str


class TemporalExtent(Open):
    """Time span of the rows (activities)."""

    interval: list[list[DateTimeText | None]]
    trs: str | None = None


class Extent(Open):
    """Where (and when) the caller's rows of a collection are."""

    spatial: SpatialExtent
    temporal: TemporalExtent | None = None


class Collection(Open):
    """One feature collection."""

    id: str = Field(description="the layer's id (GET /api/layers)")
    title: str
    description: str
    itemType: Literal["feature"]
    crs: list[str]
    links: list[Link]
    extent: Extent | None = Field(None, description="absent when the caller sees no rows")


class Collections(Open):
    """Every collection the caller may see."""

    links: list[Link]
    collections: list[Collection]


class Feature(Open):
    """A GeoJSON Feature (geometry in WGS84 longitude/latitude)."""

    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict[str, Any] | None = Field(description="a GeoJSON geometry")
    properties: dict[str, Any] | None
    links: list[Link] | None = Field(None, description="one item: self and collection")


class FeatureCollection(Open):
    """A page of GeoJSON features with OGC paging links."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberReturned: int
    numberMatched: int | None = Field(None, description="absent when counting would be costly")
    timeStamp: DateTimeText
    links: list[Link]


class Queryables(Open):
    """JSON Schema of the properties a filter may use (for the caller's audience)."""

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    description: str
    properties: dict[str, dict[str, Any]]
    additionalProperties: bool
