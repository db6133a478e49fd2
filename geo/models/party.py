"""The party organisation tree, its members, service points, activities and check-ins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, geom_checks, geometry, gist, one_of, since
from geo.vocab import ACTIVITY_STATUSES, CHECKIN_METHODS, MEMBER_STATUSES, SERVICE_POINT_KINDS

NON_NEGATIVE_CAPACITY = "capacity IS NULL OR capacity >= 0"
SINCE_0004 = {"since": "0004"}  # added by revision 0004 (the live loop)


def _org_fk(ondelete: str) -> ForeignKey:
    return ForeignKey("organisations.id", ondelete=ondelete)


class OrgType(Base):
    """Extensible list of organisation types (党委 / 党总支 / 党支部 …) with their tree level."""

    __tablename__ = "org_types"
    __table_args__ = (check("org_types", "level_check", "level BETWEEN 1 AND 9"),)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)


class Organisation(Base):
    """A party organisation: 党委 → 党总支 → 党支部 (its subtree: SQL function org_subtree)."""

    __tablename__ = "organisations"
    __table_args__ = (
        check("organisations", "not_own_parent", "parent_id IS NULL OR parent_id <> id"),
        *geom_checks("organisations", extent=False),
        gist("organisations"),
        Index("organisations_parent_idx", "parent_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, ForeignKey("org_types.code"))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, _org_fk("RESTRICT"))
    building_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="SET NULL")
    )
    founded: Mapped[date | None] = mapped_column(Date)
    contact: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(geometry("POINT"))


class Member(Base):
    """A party member. `home` is sensitive personal data and never leaves the server as a point."""

    __tablename__ = "members"
    __table_args__ = (
        one_of("members", "status", MEMBER_STATUSES),
        *geom_checks("members", "home", extent=False, optional=True),
        gist("members", "home"),
        Index("members_branch_idx", "branch_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    branch_id: Mapped[int] = mapped_column(BigInteger, _org_fk("RESTRICT"))
    status: Mapped[str] = mapped_column(Text)
    joined: Mapped[date | None] = mapped_column(Date)
    home: Mapped[Any | None] = mapped_column(
        geometry("POINT"),
        comment="SENSITIVE (PIPL Art. 28): never leaves the server as a point below admin",
    )


class ServicePoint(Base):
    """A 党群服务中心 / 党群服务站 / 党员活动室 / 红色教育基地."""

    __tablename__ = "service_points"
    __table_args__ = (
        one_of("service_points", "kind", SERVICE_POINT_KINDS),
        check("service_points", "capacity_check", NON_NEGATIVE_CAPACITY),
        *geom_checks("service_points", extent=False),
        gist("service_points"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(BigInteger, _org_fk("SET NULL"))
    address: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(geometry("POINT"))


class Activity(Base):
    """A party activity at a service point or a place, within a time span (any non-empty kind:
    geo.vocab.ACTIVITY_KINDS are the ones the map knows)."""

    __tablename__ = "activities"
    __table_args__ = (
        check("activities", "kind_check", "length(kind) > 0"),
        check("activities", "capacity_check", NON_NEGATIVE_CAPACITY),
        check("activities", "start_before_end", "starts_at < ends_at"),
        since("0004", one_of("activities", "status", ACTIVITY_STATUSES)),
        *geom_checks("activities", extent=False),
        gist("activities"),
        Index("activities_time_idx", "starts_at", "ends_at"),
        Index("activities_organiser_idx", "organiser_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    organiser_id: Mapped[int] = mapped_column(BigInteger, _org_fk("RESTRICT"))
    service_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("service_points.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(geometry("POINT"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'scheduled'"), info=SINCE_0004)
    cancel_reason: Mapped[str | None] = mapped_column(Text, info=SINCE_0004)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=SINCE_0004
    )


class Checkin(Base):
    """A member's check-in (签到) at an activity: how it was made, and the distance from its point
    when the phone gave one (evidence; required only for a geofenced check-in)."""

    __tablename__ = "checkins"
    __table_args__ = (
        check("checkins", "distance_m_check", "distance_m >= 0"),
        since("0004", one_of("checkins", "method", CHECKIN_METHODS)),
        UniqueConstraint("activity_id", "member_id", name="checkins_once"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activities.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    distance_m: Mapped[float | None] = mapped_column(
        Double,
        info={"created_as": {"nullable": False}},  # NULL allowed since 0004
    )
    method: Mapped[str] = mapped_column(Text, server_default=text("'geofence'"), info=SINCE_0004)
