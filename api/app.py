"""The FastAPI app factory: `create_app(settings)`; nothing connects at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from api.auth import add_cors, check_secret_key
from api.errors import add_exception_handlers
from api.freshness import SettleWrites
from api.openapi import install as install_openapi
from api.replicas import RetryReplicaReads
from api.routers import (
    accessibility,
    admin,
    audit,
    auth,
    builds,
    capacity,
    checkins,
    coverage,
    events,
    features,
    features_write,
    grids,
    health,
    heatmap,
    imports,
    layers,
    member_pages,
    nearest,
    org_health,
    pages,
    panoramas,
    registrations,
    reminders,
    reports,
    routes,
    scenarios,
    screen,
    terrain,
    threedtiles,
    tiles,
)
from api.security import add_security
from api.services import tile_services
from api.settings import Settings
from geo import db as geodb
from geo.db import pool as gpool
from geo.db.partition import layout
from geo.db.pool import close_pool, close_within


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.execute("SET jit = off")
    await layout.read_async(conn)  # the statements that differ by layout choose by it


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Make the app's long-lived services (pools, then api/services.py's) and close them."""
    settings: Settings = app.state.settings
    gpool.use_statement_cache(settings.db.statement_cache)  # 0 behind pgbouncer
    app.state.pool = await gpool.create_pool(  # bounded waits, 503 when the database is away
        settings.db.url,
        min_size=settings.db.pool_min,
        max_size=settings.db.pool_max,
        acquire_timeout=settings.api.pool_timeout,
        statement_timeout=settings.api.statement_timeout,  # features; analysis sets its own
        init=_init_connection,
    )
    app.state.analysis_pool = geodb.analysis_pool(  # coverage runs: psycopg, pooled
        settings.db.url,
        settings.api.analysis_slots,
        settings.api.analysis_timeout,
        settings.api.pool_timeout,
    )
    try:
        async with tile_services(app):  # versions, tile cache, renderer, derived builds
            yield
    finally:
        await close_pool(app.state.pool)
        await close_within(asyncio.to_thread(app.state.analysis_pool.close), "the analysis pool")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from settings passed in (tests make their own)."""
    settings = settings or Settings()
    app = FastAPI(
        title="djmap 党建地图",
        description="3D party-building map service: vector tiles, 3D Tiles, OGC API Features.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    add_exception_handlers(app)
    install_openapi(app)  # the error shape and the statuses every route owes to the app
    check_secret_key(settings)  # production refuses to start without DJMAP_SECRET_KEY
    add_cors(app, settings.api.cors_origins)  # explicit allowlist, never *
    add_security(app, settings)  # hardening headers, body cap, access-log redaction
    app.add_middleware(SettleWrites)  # a write answers once every process sees it
    if settings.db.replicas:
        app.add_middleware(RetryReplicaReads)  # a GET whose replica went away runs again
    for module in (
        tiles,  # first: the hot path's route is matched before any other
        health,
        layers,
        threedtiles,
        terrain,
        heatmap,
        features,
        features_write,
        audit,
        nearest,
        coverage,
        checkins,
        registrations,
        panoramas,
        auth,
        imports,
        builds,
        events,
        org_health,
        reminders,
        scenarios,
        accessibility,
        capacity,
        routes,
        grids,
        reports,
        screen,
        admin,
    ):
        app.include_router(module.router, prefix="/api")
    app.include_router(pages.router)  # pages and /static, no /api prefix
    app.include_router(member_pages.router)  # /checkin and /card
    app.include_router(screen.page_router)  # /screen (big screen and kiosk, screen keys)
    app.include_router(admin.page_router)  # /admin (users, embed keys, screen keys)
    app.add_middleware(tiles.TileLane)  # outermost: a public tile in memory answered at once
    return app
