"""The long-lived services the app's lifespan makes and closes, kept on `app.state`:

- `versions` (tiles/versions.py): the data versions, read for requests and heard by LISTEN;
- `tile_cache` (tiles/cache.py) and `renderer` (tiles/renderer.py), over the tiles' pool;
- `builds` (tiles/builds.py): every derived build (cluster tables, heat cells, 3D Tiles, terrain,
  page figures, organisation health scores) and the scheduler that rebuilds them after writes,
  over a small build pool;
- `tiles` (tiles/service.py): the path of one tile request through the four above;
- `replicas` and `read_pool` (api/replicas.py): reads on streaming replicas when
  `DJMAP_REPLICA_URLS` lists some (else `read_pool` is the primary pool);
- `events` (geo/live/stream.py): the event hub, one LISTEN connection fanned out to every
  `GET /api/events` client, and `live_worker` (geo/live/worker.py): data.changed, pruning and
  webhook deliveries, in one process at a time; `reminders` (geo/health/schedule.py): the daily
  reminders run at DJMAP_REMINDERS_AT (one process works, by advisory lock).

Routers read them from `app.state`; nothing here starts at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg

from api.replicas import replica_reads, with_floor
from api.settings import Settings
from geo.db.pool import close_pool, close_within
from geo.health.schedule import ReminderScheduler, ReminderSettings
from geo.live.settings import LiveSettings
from geo.live.stream import EventHub
from geo.live.worker import LayerVersions, LiveWorker
from layers import catalog
from tiles.accessibility_build import accessibility_builders
from tiles.builders import tile_builders
from tiles.builds import Builder, DerivedBuilds
from tiles.cache import TileCache
from tiles.grid_coverage_build import grid_coverage_builders
from tiles.health_build import health_builders
from tiles.renderer import TileRenderer, tile_pool
from tiles.service import TileService
from tiles.versions import VersionTracker
from web.pagedata import page_builders
from web.pages import web_settings

BUILD_POOL = 2  # builds run one at a time per lane; one spare for reading the stores


def derived_builders(
    settings: Settings, pool: asyncpg.Pool, versions: VersionTracker, radius_m: float
) -> list[Builder]:
    """Every derived build of the app (the lifespan's and `djmap tiles build`'s), on session
    connections (DJMAP_LISTEN_URL when set: builds hold session advisory locks)."""
    home, url = settings.db.home, settings.db.session_url
    layers = catalog.LAYERS.values()
    return [
        *tile_builders(layers, pool, versions, home, url),
        *page_builders(pool, home, url, radius_m),
        *health_builders(pool),
        *accessibility_builders(pool, url),
        *grid_coverage_builders(pool, home, url),
    ]


@asynccontextmanager
async def tile_services(app: Any) -> AsyncIterator[TileService]:
    """Make the tile and build services, put them on `app.state`, close them on exit."""
    settings: Settings = app.state.settings
    api, url, session = settings.api, settings.db.url, settings.db.session_url
    async with AsyncExitStack() as stack:
        pool = await tile_pool(url, settings.db.pool_max, api.statement_timeout, api.pool_timeout)
        stack.push_async_callback(close_pool, pool)
        build_pool = await tile_pool(  # session advisory locks: straight to PostgreSQL
            session, BUILD_POOL, api.build_timeout, api.pool_timeout, min_size=0
        )
        stack.push_async_callback(close_pool, build_pool)
        versions = VersionTracker(pool, session, api.tile_freshness)  # LISTENs on `session`
        stack.push_async_callback(lambda: close_within(versions.close(), "the version tracker"))
        await versions.listen()
        reads = await stack.enter_async_context(replica_reads(app, pool, versions))
        radius = web_settings(app).coverage_radius_m
        builders = with_floor(app, derived_builders(settings, build_pool, versions, radius))
        builds = DerivedBuilds(versions, builders, watch=api.build_watch == "on")
        stack.push_async_callback(lambda: close_within(builds.close(), "the build registry"))
        await builds.start()
        cache = None
        if api.tile_cache == "on":
            cache = TileCache(settings.db.home / "tiles", disk_bytes=api.tile_cache_mb * 2**20)
        renderer = TileRenderer(reads, builds)  # the tiles' pool, or replicas then it
        service = TileService(versions, renderer, builds, cache)
        state = app.state
        state.versions, state.tile_cache, state.renderer = versions, cache, renderer
        state.builds, state.tiles = builds, service
        await stack.enter_async_context(live_services(app, versions, service))
        yield service


def layer_versions(tiles: TileService) -> LayerVersions:
    """Each layer's served version (the `v` of its tile URLs) and audience, for data.changed."""
    layers = tuple(catalog.LAYERS.values())

    async def current() -> dict[str, tuple[str, str]]:
        tokens = await tiles.tokens(layers)
        return {layer.id: (tokens[layer.id], layer.audience) for layer in layers}

    return current


@asynccontextmanager
async def live_services(
    app: Any, versions: VersionTracker, tiles: TileService
) -> AsyncIterator[EventHub]:
    """Make the event hub and the live worker, put them on `app.state`, close them on exit
    (tests may put their own `live_settings` on `app.state` first)."""
    settings: Settings = app.state.settings
    live = getattr(app.state, "live_settings", None) or LiveSettings()
    app.state.live_settings = live
    async with AsyncExitStack() as stack:
        session = settings.db.session_url  # LISTEN and the worker's lock need a session
        hub = EventHub(session, queue_limit=live.queue, settle_s=live.settle_s)
        stack.push_async_callback(lambda: close_within(hub.close(), "the event hub"))
        await hub.start()
        app.state.events, app.state.live_worker = hub, None
        if live.worker == "on":
            worker = LiveWorker(session, app.state.pool, hub, live, layer_versions(tiles))
            versions.on_change(worker.versions_changed)
            stack.push_async_callback(lambda: close_within(worker.close(), "the live worker"))
            worker.start()
            app.state.live_worker = worker
        app.state.reminders = None
        at = ReminderSettings().at  # the daily reminders run (geo/health/schedule.py)
        if at is not None:
            app.state.reminders = ReminderScheduler(app.state.pool, at)
            reminders = app.state.reminders
            stack.push_async_callback(lambda: close_within(reminders.close(), "the reminders"))
            app.state.reminders.start()
        yield hub
