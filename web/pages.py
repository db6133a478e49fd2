"""What each page needs: its deck for the caller's audience, its config, its HTML."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import asyncpg
from starlette.requests import Request

from geo import users
from geo.errors import InvalidInput
from geo.scope import Principal, bound_org
from layers.style import ANALYSIS
from tiles.builders import TERRAIN, THREED
from tiles.builds import DerivedBuilds
from web import queries
from web.basemaps import Basemap, basemap_of
from web.catalog import page_layers, written_to
from web.decks import DeckSpec, Sources, View, map_deck, view_of
from web.i18n import pick_lang, strings
from web.i18n_screen import screen_strings
from web.live import live_config
from web.render import render, script_json
from web.settings import WebSettings

log = logging.getLogger("djmap.embed")

# Routes whose presence turns a page feature on (other helpers build them).
_ROUTES = {
    "nearest": "/api/nearest",
    "coverage": "/api/coverage",
    "checkins": "/api/activities/{activity_id}/checkins",
    "panoramas": "/api/panoramas/{panorama_id}/image",
    "auth": "/api/auth/token",
}


@dataclass
class PageRequest:
    """A page request: the HTTP request, the pool, the caller and the language."""

    request: Request
    pool: asyncpg.Pool
    who: Principal
    lang_param: str | None

    @property
    def lang(self) -> str:
        """Page language (`?lang=`, then the djmap_lang cookie, else zh-CN)."""
        return pick_lang(self.lang_param or self.request.cookies.get("djmap_lang"))

    @property
    def app(self) -> Any:
        """The FastAPI app."""
        return self.request.app


def web_settings(app: Any) -> WebSettings:
    """The pages' settings, read once per app from the environment."""
    if not hasattr(app.state, "web_settings"):
        app.state.web_settings = WebSettings()
    settings: WebSettings = app.state.web_settings
    return settings


async def _terrain(pr: PageRequest, builds: DerivedBuilds) -> dict[str, Any] | None:
    """Where the terrain tiles are (versioned URL), their bounds and zooms, when built."""
    built = await builds.get(TERRAIN)
    if built is None:
        return None
    meta = built.value
    url = pr.request.url_for("terrain_tile", z="{z}", x="{x}", y="{y}").path
    return {
        "url": unquote(url) + f"?v={meta['build_id']}",
        "bounds": [float(v) for v in meta["bounds"]],
        "minzoom": int(meta["minzoom"]),
        "maxzoom": int(meta["maxzoom"]),
    }


async def sources(pr: PageRequest) -> Sources:
    """Which data the app serves right now: asked of its services, never of its own routes
    (a page load starts no build)."""
    state = pr.app.state
    builds: DerivedBuilds = state.builds
    paths = pr.app.openapi().get("paths", {})
    return Sources(
        mvt=getattr(state, "tiles", None) is not None,
        tiles3d=await builds.get(THREED) is not None,
        terrain=await _terrain(pr, builds),
        heatmap="/api/heatmap/{metric}" in paths,
        features="/api/collections/{collection_id}/items" in paths,
        edge=web_settings(pr.app).public_tiles_base if pr.who.audience == "public" else None,
    )


def routes(app: Any) -> dict[str, bool]:
    """Which API routes of other areas exist (features appear as they land)."""
    paths = set(app.openapi().get("paths", {}))  # routers are included lazily: ask the schema
    return {name: path in paths for name, path in _ROUTES.items()}


async def _view(pr: PageRequest) -> View:
    async with pr.pool.acquire() as conn:
        return view_of(await queries.district_view(conn))


def _basemap(pr: PageRequest) -> Basemap:
    """The optional online basemap (off unless the settings choose one: web/basemaps.py)."""
    return basemap_of(web_settings(pr.app))


async def _deck(pr: PageRequest, page: str) -> tuple[DeckSpec, Sources]:
    src = await sources(pr)
    view = await _view(pr)
    catalog = page_layers(pr.who.audience)
    basemap = _basemap(pr)
    if page == "nearest":
        view = View(view.lon, view.lat, view.zoom + 0.6, 0, 0)
    elif page == "coverage":
        view = View(view.lon, view.lat, view.zoom, 0, 0)
    flat = page in ("nearest", "coverage")
    page = page if flat else "leader"  # the layers' styles say which layers each page draws
    spec = map_deck(catalog, view, pr.lang, src, basemap, flat=flat, page=page)
    if page == "leader":  # a bound caller sees the district, the rest of it dimmed (issue 11 §2)
        spec.scope_org = bound_org(pr.who)
    return spec, src


async def page_deck(pr: PageRequest, page: str) -> str:
    """A page's deck document as JSON (for the caller's audience)."""
    spec, _ = await _deck(pr, page)
    return spec.to_json()


def _config(pr: PageRequest, spec: DeckSpec, src: Sources, **extra: Any) -> dict[str, Any]:
    return {
        "deck": "__DECK__",
        "sources": src.__dict__,
        "routes": routes(pr.app),
        "basemap": _basemap(pr).page_config(pr.lang),
        "audience": pr.who.audience,
        "member_audiences": queries.member_audiences(),  # who may read member figures
        "palette": {k: list(c) for k, c in ANALYSIS.items()},  # layers/style.py's, as the PNG
        **extra,
    }


def _page(
    pr: PageRequest, template: str, page: str, spec: DeckSpec, src: Sources, **extra: Any
) -> str:
    config = _config(pr, spec, src, **extra)
    html = render(template, page, pr.lang, config)
    return html.replace('"__DECK__"', script_json(spec.to_json()), 1)


def _live(pr: PageRequest) -> dict[str, Any]:
    """The live loop's entry of the config (issue 12: forms, event stream, registrations)."""
    paths = pr.app.openapi().get("paths", {})
    return live_config(pr.app.state, paths, page_layers(pr.who.audience))


async def leader_page(pr: PageRequest) -> str:
    """HTML of `/`."""
    spec, src = await _deck(pr, "leader")
    async with pr.pool.acquire() as conn:  # framed on load around the panels (issue 11)
        bounds = await queries.district_view(conn)
    health = screen_strings(pr.lang)  # the health card and inbox (web/src/health_panel.js)
    return _page(
        pr,
        "leader.html",
        "leader",
        spec,
        src,
        live=_live(pr),
        district_bounds=bounds,
        health=health,
    )


async def nearest_page(pr: PageRequest) -> str:
    """HTML of `/nearest`."""
    spec, src = await _deck(pr, "nearest")
    return _page(pr, "nearest.html", "nearest", spec, src, live=_live(pr))


async def coverage_page(pr: PageRequest) -> str:
    """HTML of `/coverage`."""
    spec, src = await _deck(pr, "coverage")
    grids = {"collection": written_to("grids", pr.who.audience)}  # the grid drawing tool's
    return _page(pr, "coverage.html", "coverage", spec, src, grids=grids)


@dataclass(frozen=True)
class EmbedCheck:
    """What `/embed` made of a key and the page embedding it: the origins that may frame the
    map (None: refused), why it was refused (`unknown`, `disabled` or `origin`), the key's id
    when known, and the embedding page's origin as the request names it."""

    origins: tuple[str, ...] | None
    reason: str | None = None
    key_id: int | None = None
    caller: str = "none"


async def embed_page(
    pr: PageRequest, key: str, layer_ids: str, view: dict[str, Any]
) -> tuple[str, int, tuple[str, ...]]:
    """HTML of `/embed` with its status and the origins that may frame it (CSP
    frame-ancestors). A refusal (unknown or disabled key, a page the key does not allow) is a
    card with no data that any page may frame, so the portal's editor sees why; one log line."""
    check = await _embed_check(pr, key)
    if check.origins is None:
        return _refusal(pr, check), 403, ("*",)
    src = await sources(pr)
    base = await _view(pr)
    public = [p for p in page_layers("public") if p.public]
    wanted = tuple(x for x in layer_ids.split(",") if x) or tuple(p.id for p in public)
    spec = map_deck(public, _embed_view(base, view), pr.lang, src, _basemap(pr), only=wanted)
    return _page(pr, "embed.html", "embed", spec, src), 200, check.origins


def _refusal(pr: PageRequest, check: EmbedCheck) -> str:
    """The refusal card (what is wrong, what to do), logged: key id, origin, reason."""
    key_id = "unknown" if check.key_id is None else str(check.key_id)
    log.warning("embed refused: key=%s origin=%s reason=%s", key_id, check.caller, check.reason)
    t = strings(pr.lang)
    title, message = t["embed_refused"], t["embed_refused_body"]
    if check.reason == "origin":
        title = t["embed_refused_origin"]
        message = t["embed_refused_origin_body"].format(origin=check.caller)
    extra = {"title": title, "message": message, "reason": check.reason}
    return render("refused.html", "embed", pr.lang, {}, **extra)


def _caller(origin: str | None, referer: str | None) -> str:
    """The embedding page's origin (Origin, else Referer): `scheme://host[:port]`, never a
    path or query; `none` when neither is sent, `invalid` when it is no http(s) URL."""
    for value in (origin, referer):
        if value and value != "null":
            try:
                return users.normalise_origin(value)
            except (InvalidInput, ValueError):
                return "invalid"
    return "none"


async def _embed_check(pr: PageRequest, key: str) -> EmbedCheck:
    """Whether the key is known, active and the embedding page allowed.

    The embedding page is named by Origin, else Referer (an iframe navigation sends the parent's
    origin as Referer). Our own origin may preview any active key (the admin page does).
    """
    headers = pr.request.headers
    origin, referer = headers.get("origin"), headers.get("referer")
    caller = _caller(origin, referer)
    async with pr.pool.acquire() as conn:
        found = await users.find_embed_key(conn, key)
    if found is None or not found.active:
        reason = "unknown" if found is None else "disabled"
        return EmbedCheck(None, reason, found.id if found else None, caller)
    if users.embed_refusal(found, origin, referer, require_origin=False) is None:
        return EmbedCheck(tuple(found.origins) or ("'self'",), key_id=found.id, caller=caller)
    own = f"{pr.request.url.scheme}://{pr.request.url.netloc}"
    if (referer or "").startswith(own + "/"):  # the admin page's preview
        return EmbedCheck((*found.origins, "'self'"), key_id=found.id, caller=caller)
    return EmbedCheck(None, "origin", found.id, caller)


def _embed_view(base: View, view: dict[str, Any]) -> View:
    lon, lat = base.lon, base.lat
    parts = [p for p in str(view.get("center") or "").split(",") if p.strip()]
    if len(parts) == 2:
        with contextlib.suppress(ValueError):
            lon, lat = float(parts[0]), float(parts[1])
    return View(
        lon=min(max(lon, -180.0), 180.0),
        lat=min(max(lat, -85.0), 85.0),
        zoom=float(view["zoom"]) if view.get("zoom") is not None else base.zoom,
        pitch=float(view["pitch"]) if view.get("pitch") is not None else base.pitch,
        bearing=float(view["bearing"]) if view.get("bearing") is not None else base.bearing,
    )


async def embed_admin_page(pr: PageRequest) -> str:
    """HTML of `/admin/embed`: an iframe snippet builder with a live preview."""
    public = [{"id": p.id, "title": p.title(pr.lang)} for p in page_layers("public") if p.public]
    view = await _view(pr)
    config = {"layers": public, "view": view.__dict__, "routes": routes(pr.app)}
    return render("admin_embed.html", "admin", pr.lang, config)


# Paths whose 404 stays a JSON Problem (the API, the pages' data, static files): the rest are
# pages, and an unknown page answers with the 404 page.
DATA_PREFIXES = ("/api/", "/web/", "/static/")


def wants_page(path: str, method: str, accept: str) -> bool:
    """Whether a 404 for this request is answered with the 404 page rather than JSON: a GET or
    HEAD of a page path, from a client that does not ask for JSON only."""
    if method not in ("GET", "HEAD") or path == "/api" or path.startswith(DATA_PREFIXES):
        return False
    return "html" in accept or "json" not in accept


def not_found_page(request: Request) -> str:
    """HTML of the 404 page, in the page language (`?lang=`, then the djmap_lang cookie)."""
    lang = pick_lang(request.query_params.get("lang") or request.cookies.get("djmap_lang"))
    return render("not_found.html", "not-found", lang, {}, path=request.url.path)


def docs_page(lang_param: str | None) -> str:
    """HTML of `/api/docs` (Swagger UI from /static)."""
    return render("docs.html", "docs", pick_lang(lang_param), {})
