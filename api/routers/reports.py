"""`GET /api/reports/coverage.pdf`: the printable A4 coverage report (issue 14 §6), the /coverage
page's print button."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import require_role
from api.deps import NO_NUL, get_settings
from api.models.errors import errors
from api.routers.coverage import run_bounded, scenario_changes
from api.settings import Settings
from geo.analysis.coverage_request import CoverageRequest, validate
from geo.errors import InvalidInput
from geo.planning import report
from geo.scope import Principal
from web import report as printed

router = APIRouter(tags=["reports"])
Reader = Annotated[Principal, Depends(require_role("leader", "planner", "steward", "admin"))]
PDF = "application/pdf"
BBOX = re.compile(r"^-?\d{1,3}(\.\d+)?(,-?\d{1,3}(\.\d+)?){3}$")


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    if not BBOX.match(text):
        raise InvalidInput("bbox is minlon,minlat,maxlon,maxlat")
    box = tuple(float(v) for v in text.split(","))
    validate(CoverageRequest(bbox=box))  # type: ignore[arg-type]  # the coverage caps (400/413)
    return box  # type: ignore[return-value]


@router.get(
    "/reports/coverage.pdf",
    summary="The coverage report as an A4 PDF (maps, figures, proposals, catchments, grids)",
    response_class=Response,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        **errors(
            (400, "a bad bbox, district with bbox, or minutes"),
            (401, "not logged in"),
            (403, "needs a leader, planner, steward or admin (scenarios: planners and up)"),
            (404, "unknown district or scenario"),
            (413, "the bbox is larger than a coverage run allows"),
            (503, "every analysis slot is busy, or the database is away (Retry-After)"),
        ),
    },
)
async def coverage_report(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Reader,
    district: Annotated[str | None, Query(max_length=50, pattern=NO_NUL)] = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat")
    ] = None,
    scenario: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    minutes: Annotated[int, Query(ge=1, le=60, description="the circle, minutes of walking")] = 15,
    lang: Annotated[str, Query(pattern="^(zh-CN|en)$")] = "zh-CN",
) -> Response:
    """Member figures (for leaders and up) follow the privacy rules: rounded to 10, none
    under 10. Printed by headless Chromium from the report's template."""
    if district is not None and bbox is not None:
        raise InvalidInput("give a district or a bbox, not both")
    req = report.ReportRequest(district, _bbox(bbox), scenario, float(minutes))
    changes = await scenario_changes(request, principal, scenario)
    pool = request.app.state.analysis_pool

    def work() -> bytes:
        return printed.pdf(report.collect(pool, req, principal, changes), lang)

    body = await run_bounded(request.app, settings, work)
    name = f"coverage-report-{district or 'area'}.pdf"
    return Response(
        body, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{name}"'}
    )
