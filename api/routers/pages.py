"""Pages (`/`, `/nearest`, `/coverage`, `/embed`, `/admin/embed`, `/api/docs`), their data and `/static`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import NO_NUL, TOKEN_OPTIONAL, get_principal, get_read_pool
from api.models.errors import errors
from api.models.pages import (
    DeckDocument,
    OrgTree,
    SearchResults,
    ServicePointCard,
    Stats,
)
from api.security import page_csp
from geo.errors import NotFound
from geo.scope import Principal
from web import assets, queries
from web.basemaps import basemap_of
from web.pagedata import served_figures
from web.pages import (
    PageRequest,
    coverage_page,
    docs_page,
    embed_admin_page,
    embed_page,
    leader_page,
    nearest_page,
    page_deck,
    web_settings,
)

# Pages and static files are not part of the API document; the page data (/web/*.json) is.
router = APIRouter(tags=["page data"])
HIDDEN: dict[str, Any] = {"include_in_schema": False}
Pool = Annotated[asyncpg.Pool, Depends(get_read_pool)]  # a replica when configured
Caller = Annotated[Principal, Depends(get_principal)]
Lang = Annotated[str | None, Query(description="zh-CN (default) or en")]
HTML_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _origin(template: str | None) -> tuple[str, ...]:
    """The CSP source of a URL's host ({s}-style labels become *)."""
    if not template:
        return ()
    parts = urlsplit(template)
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return (f"{parts.scheme}://{host}",) if parts.scheme in ("http", "https") and host else ()


def _html(
    request: Request, text: str, status: int = 200, ancestors: tuple[str, ...] = ("'none'",)
) -> HTMLResponse:
    """A page with its policy: framed only by `ancestors`, the basemap host allowed if set."""
    ws = web_settings(request.app)
    extra = basemap_of(ws).hosts() + _origin(ws.public_tiles_base)  # + PMTiles edge
    csp = page_csp(frame_ancestors=ancestors, extra=extra)
    headers = {**HTML_HEADERS, "Content-Security-Policy": csp}
    return HTMLResponse(text, status_code=status, headers=headers)


@router.get("/", **HIDDEN)
async def leader(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """The leader view: 3D map, layer panel, organisation tree, stats, time slider."""
    return _html(request, await leader_page(PageRequest(request, pool, who, lang)))


@router.get("/nearest", **HIDDEN)
async def nearest(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """The member finder (phone first)."""
    return _html(request, await nearest_page(PageRequest(request, pool, who, lang)))


@router.get("/coverage", **HIDDEN)
async def coverage(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """The planner's coverage view."""
    return _html(request, await coverage_page(PageRequest(request, pool, who, lang)))


@router.get("/embed", **HIDDEN)
async def embed(
    request: Request,
    pool: Pool,
    who: Caller,
    key: str = "",
    layers: str = "",
    center: str = "",
    zoom: float | None = None,
    pitch: float | None = None,
    bearing: float | None = None,
    lang: Lang = None,
) -> HTMLResponse:
    """Chrome-less public map for the portal's iframe. An unknown or disabled key, or a page the
    key does not allow, gets the refusal card (403, no data) that any page may frame, and a log
    line."""
    view = {"center": center, "zoom": zoom, "pitch": pitch, "bearing": bearing}
    text, status, ancestors = await embed_page(
        PageRequest(request, pool, who, lang), key, layers, view
    )
    return _html(request, text, status, ancestors)


@router.get("/admin/embed", **HIDDEN)
async def embed_admin(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """Copy-paste iframe snippet for an embed key."""
    return _html(request, await embed_admin_page(PageRequest(request, pool, who, lang)))


@router.get("/api/docs", **HIDDEN)
async def api_docs(request: Request, lang: Lang = None) -> HTMLResponse:
    """Swagger UI for /api/openapi.json, from files served here."""
    return _html(request, docs_page(lang))


@router.get(
    "/web/deck/{page}.json",
    summary="A page's deck.gl document for the caller's audience",
    response_model=DeckDocument,
    responses=errors(503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def deck_json(
    request: Request, page: str, pool: Pool, who: Caller, lang: Lang = None
) -> Response:
    """A page's deck for the caller's audience (the page reloads it after a login)."""
    body = await page_deck(PageRequest(request, pool, who, lang), page)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(
    "/web/orgs.json",
    summary="The organisation tree in the caller's scope",
    response_model=OrgTree,
    responses=errors(503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def orgs_json(request: Request, pool: Pool, who: Caller) -> Response:
    """The organisation tree in the caller's scope; member counts (published under the
    privacy rule, from the page figures' last build) only for the audiences of the catalog's
    member heat, else null."""
    built = await _figures(request, who)
    async with pool.acquire() as conn:
        tree = await queries.org_tree(conn, who.org_id, who.audience, built)
    # 5,000 organisations are 1 MB: written by orjson in a few ms, not validated into OrgTree
    # and dumped again (100 ms and more); OrgTree documents it, org_tree makes its fields.
    return Response(orjson.dumps({"organisations": tree}), media_type="application/json")


async def _figures(request: Request, who: Principal) -> queries.MemberFigures | None:
    """The page figures' last build, when the caller may read member figures."""
    if not queries.reads_member_figures(who.audience):
        return None
    return await served_figures(request.app.state.builds)


OrgParam = Annotated[
    int | None,
    Query(gt=0, le=2**63 - 1, description="organisation id: stats of its subtree (default: yours)"),
]


@router.get(
    "/web/stats.json",
    summary="Statistics cards of the leader view",
    response_model=Stats,
    responses=errors(
        (403, "an organisation outside the caller's subtree, or member figures not allowed"),
        (404, "unknown organisation"),
        503,
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def stats_json(request: Request, pool: Pool, who: Caller, org: OrgParam = None) -> Stats:
    """Statistics cards of the leader view (optionally for one organisation's subtree).

    404 for an unknown organisation; 403 for one outside a bound caller's subtree, and for any
    one to callers who may not read member figures (anonymous included), as the API's member
    heat; member figures are null for those callers."""
    radius = web_settings(request.app).coverage_radius_m
    built = await _figures(request, who)  # before taking a connection: it may wait for a build
    async with pool.acquire() as conn:
        if org is not None:
            await queries.check_org(conn, org, who)
        root = org if org is not None else who.org_id
        return Stats.model_validate(await queries.stats(conn, root, radius, who.audience, built))


@router.get(
    "/web/service-points/{sp_id}.json",
    summary="A service point's card for the caller",
    response_model=ServicePointCard,
    responses=errors((404, "no such service point, or not visible to the caller"), 503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def service_point_json(
    pool: Pool, who: Caller, sp_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> ServicePointCard:
    """A service point's card for the caller: details, upcoming activities, panoramas."""
    async with pool.acquire() as conn:
        card = await queries.service_point(conn, sp_id, who)
    if card is None:
        raise NotFound(f"no service point {sp_id}")
    return ServicePointCard.model_validate(card)


@router.get(
    "/web/search.json",
    summary="Service points whose name or address contains q",
    response_model=SearchResults,
    responses=errors(503),
)
async def search_json(
    pool: Pool, q: Annotated[str, Query(max_length=50, pattern=NO_NUL, description="text")] = ""
) -> SearchResults:
    """Service points whose name or address contains q."""
    if not q.strip():
        return SearchResults(results=[])
    async with pool.acquire() as conn:
        found = await queries.search_service_points(conn, q.strip())
    return SearchResults.model_validate({"results": found})


@router.get("/static/{path:path}", **HIDDEN)
async def static(path: str, request: Request) -> Response:
    """Files under web/static (built bundle, vendor files, page scripts and styles)."""
    found = assets.find(path, "gzip" in request.headers.get("accept-encoding", ""))
    if found is None:
        raise NotFound(f"no static file {path!r}")
    headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    if found.gzipped:
        headers["Content-Encoding"] = "gzip"
    return FileResponse(found.path, media_type=found.media_type, headers=headers)
