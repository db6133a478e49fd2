"""`GET /api/builds` (admin): every derived build, the data version it was made from and the one
the data is at now (tiles/builds.py). Builds start after writes, from the CLI or by the
scheduler; never from a GET, this one included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import require_role
from api.models.builds import Builds, BuildStatus
from api.models.errors import errors
from geo.scope import Principal
from tiles.builds import DerivedBuilds, Status

router = APIRouter(tags=["builds"])


def _time(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


def _item(s: Status) -> BuildStatus:
    return BuildStatus(
        name=s.name,
        kind=s.kind,  # type: ignore[arg-type]
        state=s.state,
        built_version=s.built_version,
        wanted_version=s.wanted_version,
        built_at=_time(s.built_at),
        seconds=s.seconds,
        building_since=_time(s.building_since),
        error=s.error,
    )


@router.get(
    "/builds",
    summary="Derived builds and their data versions (admin)",
    response_model=Builds,
    responses=errors((401, "not logged in"), (403, "not an admin"), 503),
)
async def list_builds(
    request: Request, _: Annotated[Principal, Depends(require_role("admin"))]
) -> Builds:
    """Cluster tables, heat cells, 3D Tiles, terrain and page figures: which data version each
    serves, and whether a newer one is due or being built."""
    builds: DerivedBuilds = request.app.state.builds
    await builds.refresh()
    return Builds(watch=builds.watch, builds=[_item(s) for s in builds.status()])
