"""OGC API Features (Part 1 Core + GeoJSON, Part 3 CQL2 text filter): thin routes over geo.features."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api import ogc
from api.deps import NO_NUL, TOKEN_OPTIONAL, get_principal, get_read_pool
from api.models.errors import errors
from api.models.media import GeoJSONResponse, SchemaJSONResponse
from api.models.ogc import (
    Collection,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    Landing,
    Queryables,
)
from geo import features as core
from geo.errors import InvalidInput
from geo.live import writes
from geo.scope import Principal
from layers import catalog

router = APIRouter(tags=["OGC API Features"])
Caller = Annotated[Principal, Depends(get_principal)]
Pool = Annotated[asyncpg.Pool, Depends(get_read_pool)]  # a replica when configured
CollectionId = Annotated[
    str,
    Path(
        description="collection id (see /api/collections)",
        examples=["service_points"],
        pattern=NO_NUL,
    ),
]
ETAG_HEADER = {
    "ETag": {
        "description": "the item's version (writable collections), for If-Match",
        "schema": {"type": "string"},
    }
}
STANDARD_PARAMS = {
    "bbox",
    "datetime",
    "limit",
    "offset",
    "filter",
    "filter-lang",
    "filter-crs",
    "f",
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("", summary="OGC API landing page", response_model=Landing)
async def landing(request: Request) -> Landing:
    """Links to the API definition, its documentation, conformance and the collections."""
    return ogc.landing(_base(request))


@router.get(
    "/conformance", summary="Conformance classes this API implements", response_model=Conformance
)
async def conformance() -> Conformance:
    """OGC API Features Part 1 core, GeoJSON, OpenAPI 3.0; Part 3 filter with CQL2 text."""
    return ogc.conformance()


@router.get(
    "/collections",
    summary="Feature collections the caller may see",
    response_model=Collections,
    response_model_exclude_unset=True,
    responses=errors(503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def collections(request: Request, principal: Caller, pool: Pool) -> Collections:
    """Every catalog layer that is a collection for the caller's audience, with its extent."""
    base = _base(request)
    docs = []
    async with pool.acquire() as conn:
        for layer in catalog.collections(principal.audience):
            extent = await core.extent(conn, layer, principal)
            docs.append(ogc.collection_doc(layer, base, extent))
    links = [ogc.link(f"{base}/api/collections", "self")]
    return Collections.model_validate({"links": links, "collections": docs})


@router.get(
    "/collections/{collection_id}",
    summary="One feature collection",
    response_model=Collection,
    response_model_exclude_unset=True,
    responses=errors((404, "unknown collection, or not visible to the caller"), 503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def collection(
    request: Request, collection_id: CollectionId, principal: Caller, pool: Pool
) -> Collection:
    """Title, links and extent of a collection (404 when unknown or not visible to the caller)."""
    layer = core.collection(collection_id, principal)
    async with pool.acquire() as conn:
        extent = await core.extent(conn, layer, principal)
    return ogc.collection_doc(layer, _base(request), extent)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Properties a filter may use (JSON Schema)",
    response_class=SchemaJSONResponse,
    response_model=Queryables,
    responses=errors((404, "unknown collection, or not visible to the caller")),
    openapi_extra=TOKEN_OPTIONAL,
)
async def queryables(request: Request, collection_id: CollectionId, principal: Caller) -> Response:
    """The caller's audience decides which properties are listed."""
    layer = core.collection(collection_id, principal)
    schema = core.queryables_schema(layer, principal, str(request.url).split("?")[0])
    return Response(orjson.dumps(schema), media_type="application/schema+json")


NUMBER = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
BBOX = rf"^({NUMBER}(,{NUMBER}){{3}}((,{NUMBER}){{2}})?)?$"  # 4 or 6 numbers (or empty)


@dataclass
class ItemsParams:
    """Query parameters of /items (titiler-style dependency)."""

    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy (or 6 numbers with heights) in CRS84 longitude/latitude",
            examples=["116.30,39.90,116.45,39.99"],
            pattern=BBOX,
        ),
    ] = None
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval (start/end, ../end, start/..); for activities "
            "selects those whose time span touches it",
            examples=["2026-05-01T00:00:00Z/.."],
            max_length=100,
            pattern=NO_NUL,
        ),
    ] = None
    limit: Annotated[
        int,
        Query(ge=1, le=core.MAX_LIMIT, description="features per page (default 100)"),
    ] = core.DEFAULT_LIMIT
    offset: Annotated[
        int,
        Query(ge=0, le=core.MAX_OFFSET, description="features to skip (see next/prev links)"),
    ] = 0
    filter: Annotated[
        str | None,
        Query(
            description="CQL2 text: comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, "
            "S_INTERSECTS(geometry, BBOX(…)|WKT); properties from /queryables",
            examples=["kind = '党群服务中心' AND capacity > 50"],
            pattern=NO_NUL,
        ),
    ] = None
    filter_lang: Annotated[
        Literal["cql2-text"] | None, Query(alias="filter-lang", description="only cql2-text")
    ] = None

    filter_crs: Annotated[
        Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None,
        Query(alias="filter-crs", description="CRS84 only (longitude, latitude)"),
    ] = None
    f: Annotated[
        Literal["json", "geojson"] | None,
        Query(description="output format: json or geojson (both GeoJSON)"),
    ] = None

    def query(self, request: Request) -> core.ItemsQuery:
        """The validated query; other parameters must be the layer's catalog filters."""
        if self.filter_lang not in (None, "cql2-text"):
            raise InvalidInput("filter-lang must be cql2-text")
        if self.filter_crs not in (None, core.CRS84):
            raise InvalidInput(f"filter-crs must be {core.CRS84}")
        if self.f not in (None, "json", "geojson"):
            raise InvalidInput("f must be json or geojson")
        limit, offset = core.parse_limit(self.limit, self.offset)
        extra = {k: v for k, v in request.query_params.items() if k not in STANDARD_PARAMS}
        return core.ItemsQuery(
            bbox=core.parse_bbox(self.bbox),
            interval=core.parse_datetime(self.datetime),
            filter=self.filter,
            limit=limit,
            offset=offset,
            extra=extra,
        )


def _page_links(request: Request, q: core.ItemsQuery, page: core.Page) -> list[dict[str, str]]:
    url = request.url
    links = [ogc.link(str(url), "self", ogc.GEOJSON)]
    more = len(page.features) == q.limit
    if page.matched is not None:
        more = q.offset + len(page.features) < page.matched
    if more:
        nxt = url.include_query_params(offset=q.offset + q.limit, limit=q.limit)
        links.append(ogc.link(str(nxt), "next", ogc.GEOJSON, "next page"))
    if q.offset > 0:
        prev = url.include_query_params(offset=max(0, q.offset - q.limit), limit=q.limit)
        links.append(ogc.link(str(prev), "prev", ogc.GEOJSON, "previous page"))
    collection = str(url).split("/items")[0]
    links.append(ogc.link(collection, "collection", ogc.JSON))
    return links


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection (GeoJSON), filtered and paged",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    responses=errors(
        (400, "a bad bbox, datetime, limit, offset or filter, or an unknown parameter"),
        (404, "unknown collection, or not visible to the caller; `org=` names no organisation"),
        503,
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def items(
    request: Request,
    collection_id: CollectionId,
    params: Annotated[ItemsParams, Depends()],
    principal: Caller,
    pool: Pool,
) -> Response:
    """Only rows and properties the caller may see; extra parameters are the layer's catalog
    filters (e.g. `kind=`, `org=`)."""
    layer = core.collection(collection_id, principal)
    q = params.query(request)
    async with pool.acquire() as conn:
        page = await core.items(conn, layer, principal, q)
    meta: dict[str, Any] = {
        "numberReturned": len(page.features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": _page_links(request, q, page),
    }
    if page.matched is not None:
        meta["numberMatched"] = page.matched
    body = (
        b'{"type":"FeatureCollection","features":['
        + ",".join(page.features).encode()
        + b"],"
        + orjson.dumps(meta)[1:]
    )
    return Response(body, media_type=ogc.GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{fid}",
    summary="One feature (GeoJSON)",
    response_class=GeoJSONResponse,
    response_model=Feature,
    responses={
        200: {"headers": ETAG_HEADER},
        **errors((404, "no such feature in the collection, or outside the caller's scope"), 503),
    },
    openapi_extra=TOKEN_OPTIONAL,
)
async def feature(
    request: Request,
    collection_id: CollectionId,
    fid: Annotated[str, Path(description="feature id", examples=["1"], pattern=NO_NUL)],
    principal: Caller,
    pool: Pool,
) -> Response:
    """404 when the feature does not exist or lies outside the caller's scope."""
    layer = core.collection(collection_id, principal)
    async with pool.acquire() as conn:
        text = await core.item(conn, layer, principal, fid)
        etag = await writes.etag(conn, layer, fid)  # writable collections: If-Match needs it
    url = str(request.url).split("?")[0]
    links = [ogc.link(url, "self", ogc.GEOJSON), ogc.link(url.split("/items")[0], "collection")]
    body = text[:-1] + ',"links":' + orjson.dumps(links).decode() + "}"
    headers = {"ETag": f'"{etag}"'} if etag else None
    return Response(body.encode(), media_type=ogc.GEOJSON, headers=headers)
