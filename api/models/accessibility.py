"""The accessibility surface on demand (issue 14 §3)."""

from __future__ import annotations

from pydantic import Field

from api.models.analysis import GeoCollection
from api.models.ogc import Open


class MemberShares(Open):
    """Member-weighted figures (planners and up): sums of whole privacy atoms, multiples of 10;
    null under 10."""

    members: int | None = Field(description="members living in the cells (null under 10)")
    share_within_pct: dict[str, float | None] = Field(
        description="minutes → % of those members within that walk of a service point"
    )


class Accessibility(Open):
    """Walking minutes per H3 cell to the nearest (`t1_min`) and third nearest (`t3_min`)
    service point; null beyond `limit_min`."""

    res: int
    limit_min: float
    scenario: int | None
    cells: GeoCollection
    members: MemberShares | None = Field(None, description="with members=true, planners and up")
