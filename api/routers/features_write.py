"""OGC API Features Part 4: POST, PUT, PATCH and DELETE of items, thin routes over geo.live.writes.

Conditional writes: PUT, PATCH and DELETE need `If-Match` with the ETag GET gave (428 without
it, 412 when the item changed since). Every successful write answers with the item's new `ETag`
and an `X-Request-ID` (the caller's, or a new one), which the audit keeps.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response

from api import ogc
from api.auth import unauthorized
from api.deps import NO_NUL, get_pool, get_principal
from api.models.errors import errors
from api.models.media import GeoJSONResponse
from api.models.ogc import Feature
from api.models.writes import CancelIn, FeatureIn, FeaturePatch, Geometry, Point
from geo import features as core
from geo.db.pool import retried
from geo.errors import InvalidInput
from geo.live import writes
from geo.live.audit import Actor
from geo.scope import Principal
from layers.base import Layer

router = APIRouter(tags=["OGC API Features: writes"])
Caller = Annotated[Principal, Depends(get_principal)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
CollectionId = Annotated[
    str, Path(description="collection id (see /api/collections)", pattern=NO_NUL)
]
Fid = Annotated[str, Path(description="feature id", examples=["1"], pattern=NO_NUL)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the ETag of GET …/items/{fid} (e.g. "3f2a…"); required',
        max_length=2000,
    ),
]
RequestId = Annotated[
    str | None,
    Header(alias="X-Request-ID", description="kept in the audit (made up when absent)"),
]
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
GEOJSON_BODY = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Feature"}}}
ETAG = {"ETag": {"description": "the item's version, for If-Match", "schema": {"type": "string"}}}
REQUEST_ID_HEADER = {
    "X-Request-ID": {"description": "the request's id (in the audit)", "schema": {"type": "string"}}
}
LOCATION = {"Location": {"description": "the new item's URL", "schema": {"type": "string"}}}
WRITE_ERRORS = (
    (400, "the feature has bad fields: `errors` lists each (place, reason code, message)"),
    (401, "log in: the public writes nothing"),
    (403, "the role may not write this collection, or the item is outside your subtree"),
    (404, "no such collection or item, or not visible to the caller"),
    (409, "the code exists already, or other rows still refer to the item"),
    503,
)
CONDITIONAL_ERRORS = (
    (412, "the item changed since the If-Match ETag: reload it"),
    (428, "If-Match is missing: send the ETag of GET …/items/{fid}"),
)


def _success(status: int, description: str, *headers: dict[str, Any]) -> dict[int | str, Any]:
    merged: dict[str, Any] = {}
    for h in headers:
        merged.update(h)
    return {
        status: {"description": description, "content": GEOJSON_BODY, "headers": merged},
    }


def _layer(collection_id: str, principal: Principal) -> Layer:
    """The collection (404) if the caller may write it: 401 anonymous, 403 for a role that may
    not write it (before If-Match is looked at)."""
    if principal.role == "public":
        raise unauthorized("log in to write features")
    layer = core.collection(collection_id, principal)
    writes.writable(layer, principal)
    return layer


def _tags(header: str | None) -> list[str]:
    """The ETags of If-Match; 428 when there is none (or only `*`)."""
    tags = [t.strip() for t in (header or "").split(",") if t.strip()]
    if not tags or tags == ["*"]:
        detail = {
            "code": "PreconditionRequired",
            "description": "send If-Match with the item's ETag (GET …/items/{fid} gives it): "
            "a write never overwrites a version it has not seen",
        }
        raise HTTPException(status_code=428, detail=detail)
    return tags


def _actor(principal: Principal, request_id: str | None) -> Actor:
    rid = request_id if request_id and REQUEST_ID.match(request_id) else uuid.uuid4().hex
    return Actor(principal.username, principal.role, rid)


def _feature(
    properties: dict[str, Any], geometry: Geometry | None, given: bool = True
) -> writes.Feature:
    """The core's view of a written feature (or merge patch): a Point's coordinates, or a
    shape's GeoJSON (a grid's polygon)."""
    if geometry is None:
        return writes.Feature(properties, None, None, given)
    if not isinstance(geometry, Point):
        return writes.Feature(properties, geometry_given=given, shape=geometry.model_dump())
    return writes.Feature(properties, geometry.coordinates[0], geometry.coordinates[1], given)


async def _answer(
    request: Request,
    conn: asyncpg.Connection,
    layer: Layer,
    principal: Principal,
    done: writes.Written,
    actor: Actor,
    status: int = 200,
) -> Response:
    """The written item as the caller reads it, with its ETag (and Location when created)."""
    request.app.state.builds.notify_write()  # committed: rebuild what the write made stale
    headers = {"X-Request-ID": str(actor.request_id)}
    if done.etag is None:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = f'"{done.etag}"'
    text = await core.item(conn, layer, principal, str(done.id))
    url = f"{str(request.base_url).rstrip('/')}/api/collections/{layer.id}/items/{done.id}"
    if status == 201:
        headers["Location"] = url
    links = [ogc.link(url, "self", ogc.GEOJSON), ogc.link(url.split("/items")[0], "collection")]
    body = text[:-1] + ',"links":' + orjson.dumps(links).decode() + "}"
    return Response(body.encode(), status_code=status, media_type=ogc.GEOJSON, headers=headers)


@router.post(
    "/collections/{collection_id}/items",
    summary="Create a feature (OGC API Features Part 4)",
    status_code=201,
    response_class=GeoJSONResponse,
    response_model=Feature,
    responses={
        **_success(201, "created: the item, its ETag and Location", ETAG, LOCATION),
        **errors(*WRITE_ERRORS),
    },
)
async def create_item(
    request: Request,
    collection_id: CollectionId,
    feature: Annotated[FeatureIn, Body(media_type="application/geo+json")],
    principal: Caller,
    pool: Pool,
    request_id: RequestId = None,
) -> Response:
    """Checked as an import row (same fields, aliases, reason codes); activities by leaders of
    their subtree, stewards and admins; service points and organisations by stewards and
    admins; grids (党建网格, polygons) by planners, stewards and admins. Answers 201 with the
    item as the caller reads it."""
    layer = _layer(collection_id, principal)
    actor = _actor(principal, request_id)
    body = _feature(feature.properties, feature.geometry)
    async with pool.acquire() as conn:
        done = await retried(lambda: writes.create(conn, layer, principal, actor, body))
        return await _answer(request, conn, layer, principal, done, actor, 201)


@router.put(
    "/collections/{collection_id}/items/{fid}",
    summary="Replace a feature (If-Match required)",
    response_class=GeoJSONResponse,
    response_model=Feature,
    responses={
        **_success(200, "replaced: the item and its new ETag", ETAG),
        **errors(*WRITE_ERRORS, *CONDITIONAL_ERRORS),
    },
)
async def replace_item(
    request: Request,
    collection_id: CollectionId,
    fid: Fid,
    feature: Annotated[FeatureIn, Body(media_type="application/geo+json")],
    principal: Caller,
    pool: Pool,
    if_match: IfMatch = None,
    request_id: RequestId = None,
) -> Response:
    """The item becomes the feature, checked whole (its code stays when none is given)."""
    layer = _layer(collection_id, principal)
    tags = _tags(if_match)
    actor = _actor(principal, request_id)
    body = _feature(feature.properties, feature.geometry)
    async with pool.acquire() as conn:
        done = await retried(lambda: writes.replace(conn, layer, principal, actor, fid, tags, body))
        return await _answer(request, conn, layer, principal, done, actor)


@router.patch(
    "/collections/{collection_id}/items/{fid}",
    summary="Update a feature with a JSON merge patch (If-Match required)",
    response_class=GeoJSONResponse,
    response_model=Feature,
    responses={
        **_success(200, "updated: the item and its new ETag", ETAG),
        **errors(*WRITE_ERRORS, *CONDITIONAL_ERRORS),
    },
)
async def update_item(
    request: Request,
    collection_id: CollectionId,
    fid: Fid,
    patch: Annotated[FeaturePatch, Body(media_type="application/merge-patch+json")],
    principal: Caller,
    pool: Pool,
    if_match: IfMatch = None,
    request_id: RequestId = None,
) -> Response:
    """RFC 7396 over the feature: `properties` change (null removes), `geometry` moves it."""
    layer = _layer(collection_id, principal)
    tags = _tags(if_match)
    actor = _actor(principal, request_id)
    moved = "geometry" in patch.model_fields_set
    body = _feature(patch.properties or {}, patch.geometry, moved)
    async with pool.acquire() as conn:
        done = await retried(lambda: writes.update(conn, layer, principal, actor, fid, tags, body))
        return await _answer(request, conn, layer, principal, done, actor)


async def _reason(request: Request, query: str | None) -> str | None:
    """The cancel reason: `?reason=`, else a JSON body {"reason": …} (400 when malformed)."""
    if query is not None:
        return query
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return CancelIn.model_validate_json(raw).reason
    except ValueError:
        raise InvalidInput(
            'the body must be JSON {"reason": "…"} (at most 500 characters)'
        ) from None


@router.delete(
    "/collections/{collection_id}/items/{fid}",
    summary="Delete a feature, or cancel an activity people signed up for (If-Match required)",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "deleted", "headers": REQUEST_ID_HEADER},
        **_success(200, "cancelled: the activity (status cancelled) and its new ETag", ETAG),
        **errors(*WRITE_ERRORS, *CONDITIONAL_ERRORS),
    },
)
async def delete_item(
    request: Request,
    collection_id: CollectionId,
    fid: Fid,
    principal: Caller,
    pool: Pool,
    if_match: IfMatch = None,
    request_id: RequestId = None,
    reason: Annotated[
        str | None,
        Query(
            description="why an activity with registrations or check-ins is cancelled "
            '(or a JSON body {"reason": …}); required then',
            max_length=500,
            pattern=NO_NUL,
        ),
    ] = None,
) -> Response:
    """Removes the item (409 while other rows refer to it); an activity with registrations or
    check-ins is cancelled instead (200, status 'cancelled', the reason kept and announced)."""
    layer = _layer(collection_id, principal)
    tags = _tags(if_match)
    actor = _actor(principal, request_id)
    why = await _reason(request, reason)
    async with pool.acquire() as conn:
        done = await retried(lambda: writes.delete(conn, layer, principal, actor, fid, tags, why))
        return await _answer(request, conn, layer, principal, done, actor)
