"""Planning (issue 14): scenarios a planner keeps without touching the live tables, and the
accessibility surface (walking minutes to the nearest service points per H3 cell), a derived
build (geo/planning/accessibility.py) published as the accessibility layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Double, ForeignKey, Index, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, geometry, gist


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Scenario(Base):
    """A planner's what-if: changes to the service points (add, move, remove, set) and candidate
    sites, kept as JSON and applied only inside the analyses' SQL (never to service_points).
    `org_id` is the subtree it belongs to (NULL: the whole tree, for unbound users)."""

    __tablename__ = "scenarios"
    __table_args__ = (
        check("scenarios", "name_check", "length(name) BETWEEN 1 AND 200"),
        check("scenarios", "changes_check", "jsonb_typeof(changes) = 'array'"),
        Index("scenarios_org_idx", "org_id"),
        {"comment": "Planning scenarios (issue 14): never applied to the live tables"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list[Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class AccessibilityCell(Base):
    """One H3 cell of the accessibility surface: walking minutes to the nearest and to the third
    nearest service point (NULL: fewer reachable within the limit), one build at a time."""

    __tablename__ = "accessibility_cells"
    __table_args__ = (
        check("accessibility_cells", "res_check", "res BETWEEN 0 AND 15"),
        check("accessibility_cells", "minutes_check", "t1_min IS NULL OR t1_min >= 0"),
        gist("accessibility_cells"),
        {"comment": "Derived accessibility surface (issue 14): times, not people"},
    )
    cell: Mapped[str] = mapped_column(Text, primary_key=True)
    res: Mapped[int] = mapped_column(SmallInteger)
    token: Mapped[str] = mapped_column(Text)
    t1_min: Mapped[float | None] = mapped_column(Double, comment="minutes to the nearest")
    t3_min: Mapped[float | None] = mapped_column(Double, comment="minutes to the third nearest")
    geom: Mapped[Any] = mapped_column(geometry("POLYGON"))
    built_at: Mapped[datetime] = _now()
