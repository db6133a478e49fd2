"""OGC API Features (Part 1 Core + GeoJSON, Part 3 CQL2 text filter): thin routes over geo.features."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api import ogc
from api.deps import get_pool, get_principal
from geo import features as core
from geo.errors import InvalidInput
from geo.scope import Principal
from layers import catalog

router = APIRouter(tags=["OGC API Features"])
Caller = Annotated[Principal, Depends(get_principal)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
CollectionId = Annotated[
    str, Path(description="collection id (see /api/collections)", examples=["service_points"])
]
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


def _error(status: int, code: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": description,
            "content": {
                "application/json": {"example": {"code": code, "description": description}}
            },
        }
    }


BAD = _error(400, "InvalidParameterValue", "limit must be between 1 and 10000, got 20000")
MISSING = _error(404, "NotFound", "no collection 'nope'")
UNAUTH = _error(401, "Unauthorized", "invalid token")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("", summary="OGC API landing page", responses=UNAUTH)
async def landing(request: Request) -> dict[str, Any]:
    """Links to the API definition, its documentation, conformance and the collections."""
    return ogc.landing(_base(request))


@router.get("/conformance", summary="Conformance classes this API implements")
async def conformance() -> dict[str, Any]:
    """OGC API Features Part 1 core, GeoJSON, OpenAPI 3.0; Part 3 filter with CQL2 text."""
    return {"conformsTo": list(ogc.CONFORMANCE)}


@router.get("/collections", summary="Feature collections the caller may see", responses=UNAUTH)
async def collections(request: Request, principal: Caller, pool: Pool) -> dict[str, Any]:
    """Every catalog layer that is a collection for the caller's audience, with its extent."""
    base = _base(request)
    docs = []
    async with pool.acquire() as conn:
        for layer in catalog.collections(principal.audience):
            extent = await core.extent(conn, layer, principal)
            docs.append(ogc.collection_doc(layer, base, extent))
    return {
        "links": [ogc.link(f"{base}/api/collections", "self")],
        "collections": docs,
    }


@router.get(
    "/collections/{collection_id}",
    summary="One feature collection",
    responses={**MISSING, **UNAUTH},
)
async def collection(
    request: Request, collection_id: CollectionId, principal: Caller, pool: Pool
) -> dict[str, Any]:
    """Title, links and extent of a collection (404 when unknown or not visible to the caller)."""
    layer = core.collection(collection_id, principal)
    async with pool.acquire() as conn:
        extent = await core.extent(conn, layer, principal)
    return ogc.collection_doc(layer, _base(request), extent)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Properties a filter may use (JSON Schema)",
    responses={**MISSING, **UNAUTH},
    response_class=JSONResponse,
)
async def queryables(request: Request, collection_id: CollectionId, principal: Caller) -> Response:
    """The caller's audience decides which properties are listed."""
    layer = core.collection(collection_id, principal)
    schema = core.queryables_schema(layer, principal, str(request.url).split("?")[0])
    return Response(orjson.dumps(schema), media_type="application/schema+json")


@dataclass
class ItemsParams:
    """Query parameters of /items (titiler-style dependency)."""

    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy (or 6 numbers with heights) in CRS84 longitude/latitude",
            examples=["116.30,39.90,116.45,39.99"],
        ),
    ] = None
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval (start/end, ../end, start/..); for activities "
            "selects those whose time span touches it",
            examples=["2026-05-01T00:00:00Z/.."],
        ),
    ] = None
    limit: Annotated[
        int | None,
        Query(
            description="features per page: 1–10,000 (default 100; larger → 400)", examples=[100]
        ),
    ] = None
    offset: Annotated[
        int | None, Query(description="features to skip (paging; see next/prev links)", ge=0)
    ] = None
    filter: Annotated[
        str | None,
        Query(
            description="CQL2 text: comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, "
            "S_INTERSECTS(geometry, BBOX(…)|WKT); properties from /queryables",
            examples=["kind = '党群服务中心' AND capacity > 50"],
        ),
    ] = None
    filter_lang: Annotated[
        str | None,
        Query(alias="filter-lang", description="only cql2-text", examples=["cql2-text"]),
    ] = None

    filter_crs: Annotated[
        str | None,
        Query(alias="filter-crs", description=f"only {core.CRS84} (longitude, latitude)"),
    ] = None
    f: Annotated[str | None, Query(description="output format: json or geojson (both GeoJSON)")] = (
        None
    )

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
    responses={
        200: {"content": {ogc.GEOJSON: {}}, "description": "a GeoJSON FeatureCollection"},
        **BAD,
        **MISSING,
        **UNAUTH,
    },
    response_class=Response,
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
    responses={
        200: {"content": {ogc.GEOJSON: {}}, "description": "a GeoJSON Feature"},
        **_error(404, "NotFound", "no feature '42' in activities"),
        **UNAUTH,
    },
    response_class=Response,
)
async def feature(
    request: Request,
    collection_id: CollectionId,
    fid: Annotated[str, Path(description="feature id", examples=["1"])],
    principal: Caller,
    pool: Pool,
) -> Response:
    """404 when the feature does not exist or lies outside the caller's scope."""
    layer = core.collection(collection_id, principal)
    async with pool.acquire() as conn:
        text = await core.item(conn, layer, principal, fid)
    url = str(request.url).split("?")[0]
    links = [ogc.link(url, "self", ogc.GEOJSON), ogc.link(url.split("/items")[0], "collection")]
    body = text[:-1] + ',"links":' + orjson.dumps(links).decode() + "}"
    return Response(body.encode(), media_type=ogc.GEOJSON)
