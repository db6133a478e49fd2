"""Data answers: service health, panoramas, import reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.models.ogc import DateTimeText, Open


class ReplicaHealth(BaseModel):
    """One streaming replica as the last background check found it (geo/db/replicas.py)."""

    name: str = Field(description="host:port/dbname", examples=["127.0.0.1:54330/djmap"])
    state: Literal["starting", "ok", "lagging", "down", "not_standby"] = Field(
        description="ok: in the rotation; lagging: further behind than DJMAP_REPLICA_MAX_LAG_S; "
        "down: unreachable; not_standby: promoted or not a replica (left out)"
    )
    in_rotation: bool = Field(description="reads may go to it now")
    lag_s: float | None = Field(
        None, description="seconds behind the primary's flushed WAL (null: unknown)"
    )
    replay_paused: bool = False
    reads: int = Field(0, description="reads this process has served from it")
    checked_at: float | None = Field(None, description="unix time of the last successful check")
    error: str | None = Field(None, description="why it is out of the rotation")


class Health(Open):
    """Is the service up and can it reach its database."""

    status: Literal["ok", "error"]
    database: str = Field(description="ok, or why the database cannot be reached")
    postgis: str | None = Field(None, examples=["3.3.2"])
    revision: str | None = Field(None, description="schema migration revision")
    builds: dict[str, int] | None = Field(
        None, description="derived builds by state (ready, stale, …); details: GET /api/builds"
    )
    replicas: list[ReplicaHealth] | None = Field(
        None, description="streaming replicas taking reads (absent when none is configured)"
    )


class ServicePointRef(BaseModel):
    """The service point a panorama belongs to."""

    id: int
    name: str
    kind: str
    lon: float
    lat: float


class Panorama(Open):
    """A panorama's metadata; `heading` is the compass bearing of the image centre."""

    id: int
    code: str
    title: str | None
    width: int
    height: int
    heading: float | None
    captured_at: DateTimeText | None
    lon: float | None
    lat: float | None
    image: str = Field(description="URL path of the image")
    service_point: ServicePointRef | None


class ImportIssue(Open):
    """A bad row (or a warning) of an import, numbered as `row_convention` says."""

    code: str = Field(examples=["out_of_range"])
    message: str
    row: int | None = None
    column: str | None = None


class ImportReport(Open):
    """The row-numbered report of an import (written, or rejected inside a 422)."""

    kind: str = Field(examples=["organisations"])
    source: str
    status: str = Field(examples=["written"])
    row_convention: str
    rows_bad: int
    error_counts: dict[str, int]
    warning_counts: dict[str, int]
    errors: list[ImportIssue]
    warnings: list[ImportIssue]
    import_id: int | None = None
