"""The derived builds (GET /api/builds): what each serves and whether a newer one is due."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class BuildStatus(BaseModel):
    """One derived build."""

    name: str = Field(description="e.g. clusters:<layer>, heat:<layer>, 3dtiles, terrain")
    kind: Literal[
        "clusters", "heat", "3dtiles", "terrain", "pagedata", "health", "accessibility",
        "grid_coverage",
    ]  # fmt: skip
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
