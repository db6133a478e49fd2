"""`GET /api/health`: is the service up and can it reach its database?"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.deps import get_pool
from api.models.data import Health
from geo.db.pool import as_unavailable

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Service and database health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database cannot be reached"}},
)
async def health(
    request: Request, pool: Annotated[asyncpg.Pool, Depends(get_pool)]
) -> JSONResponse:
    """200 with the PostGIS version when the database answers, 503 when it does not; `builds`
    counts the derived builds by state (details: GET /api/builds); `replicas` shows each
    streaming replica's state and lag when DJMAP_REPLICA_URLS lists some."""
    builds = request.app.state.builds.summary()
    replicas = request.app.state.replicas
    more = {"replicas": replicas.status()} if replicas is not None else {}
    try:
        async with pool.acquire(timeout=5) as conn:
            postgis = await conn.fetchval("SELECT postgis_lib_version()")
            revision = await conn.fetchval("SELECT version_num FROM alembic_version")
    except Exception as exc:
        reason = "unreachable" if as_unavailable(exc) is not None else type(exc).__name__
        return JSONResponse(
            {"status": "error", "database": reason, "builds": builds, **more},
            status_code=503,
            headers={"Retry-After": "2"},
        )
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "postgis": postgis,
            "revision": revision,
            "builds": builds,
            **more,
        }
    )
