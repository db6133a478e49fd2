"""`GET /api/builds` (admin): every derived build, the data version it was made from and the one
the data is at now (tiles/builds.py). Builds start after writes, from the CLI or by the
scheduler; never from a GET, this one included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import require_role
from geo.scope import Principal
from tiles.builds import DerivedBuilds, Status

router = APIRouter(tags=["builds"])


class BuildStatus(BaseModel):
    """One derived build."""

    name: str = Field(description="e.g. clusters:<layer>, heat:<layer>, 3dtiles, terrain")
    kind: Literal["clusters", "heat", "3dtiles", "terrain", "pagedata"]
    state: Literal["ready", "stale", "building", "missing", "failed"] = Field(
        description="ready: of the current data; stale: an older build is served while the next "
        "is due; building; missing: none yet; failed: the last attempt failed (see error)"
    )
    built_version: str | None = Field(description="data version of the build served")
    wanted_version: str | None = Field(
        description="data version the data is at (null: not derived from the database)"
    )
    built_at: datetime | None
    seconds: float | None = Field(description="how long its last build in this process took")
    building_since: datetime | None
    error: str | None


class Builds(BaseModel):
    """The derived builds and how they are scheduled."""

    watch: bool = Field(description="builds follow every data change (DJMAP_BUILD_WATCH)")
    builds: list[BuildStatus]


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
    responses={
        401: {"description": "not logged in"},
        403: {"description": "not an admin"},
    },
)
async def list_builds(
    request: Request, _: Annotated[Principal, Depends(require_role("admin"))]
) -> Builds:
    """Cluster tables, heat cells, 3D Tiles, terrain and page figures: which data version each
    serves, and whether a newer one is due or being built."""
    builds: DerivedBuilds = request.app.state.builds
    await builds.refresh()
    return Builds(watch=builds.watch, builds=[_item(s) for s in builds.status()])
