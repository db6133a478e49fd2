"""SQLAlchemy / GeoAlchemy2 models of the party-building data (schema in `sql/schema_0001.sql`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Date, DateTime, Float, ForeignKey, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ORG_TYPES = ("党委", "党总支", "党支部")
MEMBER_STATUSES = ("正式", "预备", "流动")
SERVICE_POINT_KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")
ACTIVITY_KINDS = ("三会一课", "主题党日", "志愿服务", "学习", "组织生活会", "红色教育")
# Tables whose writes bump `data_versions` (caches of tiles and layers key on it).
VERSIONED_TABLES = (
    "organisations",
    "members",
    "service_points",
    "activities",
    "checkins",
    "buildings",
    "roads",
    "panoramas",
    "districts",
)


def _point() -> Any:
    return Geometry("POINT", srid=4326, spatial_index=False)


class Base(DeclarativeBase):
    """Declarative base of every djmap table."""


class OrgType(Base):
    """Extensible list of organisation types (党委 / 党总支 / 党支部 …) with their tree level."""

    __tablename__ = "org_types"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)


class District(Base):
    """An administrative boundary (the sample district, 街道 …)."""

    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class Building(Base):
    """A building footprint with its height, for 3D Tiles and coverage by building."""

    __tablename__ = "buildings"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(Text)
    height_m: Mapped[float] = mapped_column(Float)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class Organisation(Base):
    """A party organisation: 党委 → 党总支 → 党支部."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, ForeignKey("org_types.code"))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("organisations.id"))
    building_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("buildings.id"))
    founded: Mapped[date | None] = mapped_column(Date)
    contact: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(_point())


class Member(Base):
    """A party member. `home` is sensitive personal data and never leaves the server as a point."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    branch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(Text)
    joined: Mapped[date | None] = mapped_column(Date)
    home: Mapped[Any | None] = mapped_column(_point())


class ServicePoint(Base):
    """A 党群服务中心 / 党群服务站 / 党员活动室 / 红色教育基地."""

    __tablename__ = "service_points"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("organisations.id"))
    address: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(_point())


class Activity(Base):
    """A party activity at a service point or a place, within a time span."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    organiser_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("organisations.id"))
    service_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("service_points.id")
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(_point())


class Checkin(Base):
    """A member's check-in (签到) at an activity, with the distance from its point."""

    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("activities.id"))
    member_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.id"))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    distance_m: Mapped[float] = mapped_column(Float)


class Road(Base):
    """A walkable line of the street network (source/target filled by the routing topology)."""

    __tablename__ = "roads"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    source: Mapped[int | None] = mapped_column(BigInteger)
    target: Mapped[int | None] = mapped_column(BigInteger)
    length_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))


class Panorama(Base):
    """A 360° equirectangular panorama, usually of a service centre."""

    __tablename__ = "panoramas"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    image_path: Mapped[str] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    heading: Mapped[float] = mapped_column(Float)
    service_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("service_points.id")
    )
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(_point())


class ImportRun(Base):
    """Audit of one import: who, what file, how many rows written and skipped, the report."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_written: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DataVersion(Base):
    """Version counter per table, bumped by a trigger on every write."""

    __tablename__ = "data_versions"
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
