"""Basemap places (issue 11 §1): land use areas (水域 water, 绿地 green …) drawn under everything
on the offline basemap. Imported with the kind `landuse`; public places with no owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, geom_checks, geometry, gist, one_of
from geo.vocab import LANDUSE_KINDS


class Landuse(Base):
    """A land use area: its kind (geo.vocab.LANDUSE_KINDS), an optional name, a polygon."""

    __tablename__ = "landuse"
    __table_args__ = (
        one_of("landuse", "kind", LANDUSE_KINDS),
        *geom_checks("landuse", extent=True),
        gist("landuse"),
        {"comment": "Land use areas of the offline basemap (water, green; issue 11)"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(geometry("MULTIPOLYGON"))
