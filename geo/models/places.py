"""Places of the district: boundaries, buildings, the street network and panoramas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Double, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, geom_checks, geometry, gist
from geo.vocab import DEFAULT_DISTRICT_LEVEL, DEFAULT_ROAD_KIND


class District(Base):
    """An administrative boundary (the sample district, 街道 …)."""

    __tablename__ = "districts"
    __table_args__ = (*geom_checks("districts", extent=True), gist("districts"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, server_default=DEFAULT_DISTRICT_LEVEL)
    geom: Mapped[Any] = mapped_column(geometry("MULTIPOLYGON"))


class Building(Base):
    """A building footprint with its height, for 3D Tiles and coverage by building."""

    __tablename__ = "buildings"
    __table_args__ = (
        check("buildings", "height_m_check", "height_m > 0 AND height_m < 1000"),
        check("buildings", "floors_check", "floors IS NULL OR floors BETWEEN 1 AND 300"),
        *geom_checks("buildings", extent=True),
        gist("buildings"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(Text)
    height_m: Mapped[float] = mapped_column(Double)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(geometry("MULTIPOLYGON"))


class Road(Base):
    """A walkable line of the street network (source/target filled by the routing topology)."""

    __tablename__ = "roads"
    __table_args__ = (
        *geom_checks("roads", extent=True),
        gist("roads"),
        Index("roads_source_idx", "source"),
        Index("roads_target_idx", "target"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default=DEFAULT_ROAD_KIND)
    source: Mapped[int | None] = mapped_column(BigInteger)
    target: Mapped[int | None] = mapped_column(BigInteger)
    length_m: Mapped[float | None] = mapped_column(Double)
    geom: Mapped[Any] = mapped_column(geometry("LINESTRING"))


class Panorama(Base):
    """A 360° equirectangular panorama, usually of a service centre."""

    __tablename__ = "panoramas"
    __table_args__ = (
        check("panoramas", "width_check", "width IS NULL OR width > 0"),
        check("panoramas", "height_check", "height IS NULL OR height > 0"),
        check("panoramas", "heading_check", "heading >= 0 AND heading < 360"),
        *geom_checks("panoramas", extent=False),
        gist("panoramas"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    image_path: Mapped[str] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    heading: Mapped[float] = mapped_column(Double, server_default=text("0"))
    service_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("service_points.id", ondelete="SET NULL")
    )
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(geometry("POINT"))
