"""Data answers: service health, panoramas, import reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.models.ogc import DateTimeText, Open


class Health(Open):
    """Is the service up and can it reach its database."""

    status: Literal["ok", "error"]
    database: str = Field(description="ok, or why the database cannot be reached")
    postgis: str | None = Field(None, examples=["3.3.2"])
    revision: str | None = Field(None, description="schema migration revision")
    builds: dict[str, int] | None = Field(
        None, description="derived builds by state (ready, stale, …); details: GET /api/builds"
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
