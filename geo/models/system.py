"""Users and embed keys, the import audit, data versions, and the derived tile tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, geometry, gist, one_of
from geo.privacy.threshold import K
from geo.vocab import IMPORT_STATUSES, ROLES


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    """A login with a role, scoped to an organisation subtree (argon2 password hash)."""

    __tablename__ = "users"
    __table_args__ = (
        check("users", "username_check", "length(username) BETWEEN 1 AND 64"),
        one_of("users", "role", ROLES),
        check("users", "member_has_member", "role <> 'member' OR member_id IS NOT NULL"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        comment="root of the organisation subtree the user is scoped to; NULL = whole district",
    )
    member_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmbedKey(Base):
    """A key the portal puts in its iframe URL, bound to the origins allowed to embed the map."""

    __tablename__ = "embed_keys"
    __table_args__ = (check("embed_keys", "key_check", "length(key) >= 16"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()


class ImportRun(Base):
    """Audit of one import: who, what file, how many rows written and skipped, the report."""

    __tablename__ = "imports"
    __table_args__ = (one_of("imports", "status", IMPORT_STATUSES),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    rows_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_written: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_skipped: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DataVersion(Base):
    """Version counter per table, bumped by a trigger on every write (and NOTIFY'd)."""

    __tablename__ = "data_versions"
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    updated_at: Mapped[datetime] = _now()


class HeatCell(Base):
    """A published heat cell (tiles/heat.py): merged = members of the cell not in any finer one."""

    __tablename__ = "heat_cells"
    __table_args__ = (
        check("heat_cells", "res_check", "res BETWEEN 0 AND 15"),
        check("heat_cells", "count_check", f"count >= {K}"),
        gist("heat_cells"),
        {
            "comment": "Published heat cells: merged = members of the cell not in any finer "
            "published cell (tiles/heat.py)"
        },
    )
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text, primary_key=True)
    res: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cell: Mapped[str] = mapped_column(Text, primary_key=True)
    merged: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(geometry("POLYGON"))


class TileAgg(Base):
    """Clusters of every tile up to z16 for one data version (tiles/aggregate.py)."""

    __tablename__ = "tile_agg"
    __table_args__ = (
        {"comment": "Clusters of every tile up to z16 for one data version (tiles/aggregate.py)"},
    )
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text, primary_key=True)
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    mx: Mapped[float] = mapped_column(Double)
    my: Mapped[float] = mapped_column(Double)
    kinds: Mapped[Any] = mapped_column(JSONB)


class TileAggCount(Base):
    """The number of points of each aggregated tile."""

    __tablename__ = "tile_agg_count"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text, primary_key=True)
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class TileMvt(Base):
    """Pre-encoded dense point tiles of one data version, built with the cluster tables."""

    __tablename__ = "tile_mvt"
    __table_args__ = (
        {
            "comment": "Dense point tiles encoded at build time for one data version and "
            "audience, served instead of encoding them per request (tiles/encoded.py)"
        },
    )
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text, primary_key=True)
    audience: Mapped[str] = mapped_column(Text, primary_key=True)
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class TileAggState(Base):
    """The data version (token) a layer's cluster tables were built for."""

    __tablename__ = "tile_agg_state"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    built_at: Mapped[datetime] = _now()


class HeatState(Base):
    """The data version (token) a heat layer's cells were built for."""

    __tablename__ = "heat_state"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    built_at: Mapped[datetime] = _now()


class ScreenKey(Base):
    """A key a big screen (数据大屏) or kiosk opens `/screen` with: no login, it reads what the
    leader of its organisation subtree sees for the screen's figures (NULL org = the district)."""

    __tablename__ = "screen_keys"
    __table_args__ = (
        check("screen_keys", "key_check", "length(key) >= 16"),
        {"comment": "Keys of big screens and kiosks (issue 13 §5), bound to a scope"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()
