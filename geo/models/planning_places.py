"""Planning places (issue 14 §4-5): 党建网格 (party-building grids) and saved red education
routes (红色教育路线). Both are public places: a grid's leader is a member reference (never the
member's home), a route's stops are service points."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Double, ForeignKey, Index, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, geom_checks, geometry, gist, one_of
from geo.vocab import ROUTE_MODES


class Grid(Base):
    """A 党建网格: a polygon of a community with its branch (支部) and grid leader (网格长)."""

    __tablename__ = "grids"
    __table_args__ = (
        *geom_checks("grids", extent=True),
        gist("grids"),
        Index("grids_org_idx", "org_id"),
        {"comment": "Party-building grids (党建网格, issue 14)"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    community: Mapped[str | None] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="SET NULL")
    )
    leader_member_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="SET NULL")
    )
    geom: Mapped[Any] = mapped_column(geometry("MULTIPOLYGON"))


class RedRoute(Base):
    """A saved red education route: its ordered stops (service point ids), how it is travelled,
    its path and its length and duration as computed when saved."""

    __tablename__ = "red_routes"
    __table_args__ = (
        one_of("red_routes", "mode", ROUTE_MODES),
        check("red_routes", "name_check", "length(name) BETWEEN 1 AND 200"),
        check("red_routes", "stops_check", "cardinality(stops) >= 2"),
        check("red_routes", "distance_m_check", "distance_m >= 0"),
        check("red_routes", "duration_s_check", "duration_s >= 0"),
        *geom_checks("red_routes", extent=True),
        gist("red_routes"),
        Index("red_routes_district_idx", "district_id"),
        {"comment": "Saved red education routes (红色教育路线, issue 14)"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    district_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("districts.id", ondelete="SET NULL")
    )
    stops: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    mode: Mapped[str] = mapped_column(Text)
    round_trip: Mapped[bool] = mapped_column(Boolean)
    distance_m: Mapped[float] = mapped_column(Double)
    duration_s: Mapped[float] = mapped_column(Double)
    geom: Mapped[Any] = mapped_column(geometry("MULTILINESTRING"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridCoverage(Base):
    """Each grid's share of the 15-minute circle (a derived result, written by
    geo/planning/grid_coverage.py): buildings, and members as published (sums of whole privacy
    atoms rounded to multiples of K; NULL when under K), so nothing here needs the threshold
    again."""

    __tablename__ = "grid_coverage"
    __table_args__ = (
        one_of("grid_coverage", "mode", ("straight", "walk")),
        check("grid_coverage", "buildings_check", "buildings_covered BETWEEN 0 AND buildings"),
        {"comment": "Coverage per 党建网格 (derived; published figures only)"},
    )
    grid_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True
    )
    minutes: Mapped[float] = mapped_column(Double)
    mode: Mapped[str] = mapped_column(Text)
    buildings: Mapped[int] = mapped_column(BigInteger)
    buildings_covered: Mapped[int] = mapped_column(BigInteger)
    members: Mapped[int | None] = mapped_column(BigInteger)
    members_covered: Mapped[int | None] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
