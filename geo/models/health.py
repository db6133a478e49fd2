"""Organisation life and health (issue 13): meetings, committee terms, dues per month (aggregates
per organisation only, never one member's payments), the admin's rule sets, the derived scores
with their monthly snapshots, and the secretaries' reminders."""

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
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, check, one_of
from geo.vocab import (
    HEALTH_STATUSES,
    MEETING_KINDS,
    MEETING_SOURCES,
    REMINDER_KINDS,
    REMINDER_STATES,
)


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _org(ondelete: str = "CASCADE") -> Any:
    return mapped_column(BigInteger, ForeignKey("organisations.id", ondelete=ondelete))


class Meeting(Base):
    """A meeting held by an organisation (支部党员大会, 支委会 …): imported, entered by its
    secretary, or an activity of a meeting kind with check-ins (linked by `activity_id`).
    `code` is the key an import upserts on (`<org code>:<kind>:<date>` unless given)."""

    __tablename__ = "meetings"
    __table_args__ = (
        one_of("meetings", "kind", MEETING_KINDS),
        one_of("meetings", "source", MEETING_SOURCES),
        check("meetings", "attendance_check", "attendance IS NULL OR attendance >= 0"),
        Index("meetings_org_idx", "org_id", "held_on"),
        {"comment": "Meetings of organisation life (issue 13); evidence of the health rules"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    org_id: Mapped[int] = _org()
    kind: Mapped[str] = mapped_column(Text)
    held_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    activity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("activities.id", ondelete="SET NULL")
    )
    attendance: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class CommitteeTerm(Base):
    """An election of an organisation's committee (换届): elected on, for `term_years`."""

    __tablename__ = "committee_terms"
    __table_args__ = (
        check("committee_terms", "years_check", "term_years BETWEEN 1 AND 10"),
        Index("committee_terms_org_idx", "org_id", "elected_on"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    org_id: Mapped[int] = _org()
    elected_on: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = _now()


class DuesMonth(Base):
    """Party dues of one organisation for one month, as aggregates: the share of members who paid
    and how many members are in arrears (never who)."""

    __tablename__ = "dues_months"
    __table_args__ = (
        check("dues_months", "month_check", "extract(day FROM month) = 1"),
        check("dues_months", "share_check", "paid_share BETWEEN 0 AND 1"),
        check("dues_months", "arrears_check", "arrears_count >= 0"),
        UniqueConstraint("org_id", "month", name="dues_months_once"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    org_id: Mapped[int] = _org()
    month: Mapped[date] = mapped_column(Date, comment="the first day of the month")
    paid_share: Mapped[float] = mapped_column(Double)
    arrears_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()


class HealthRuleSet(Base):
    """An admin's version of the health rules (the file's defaults overridden); the highest id
    is in force. Rows are never changed: a new version is a new row."""

    __tablename__ = "health_rule_sets"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    actor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class OrgHealth(Base):
    """The derived score of each organisation (geo/health, built per data version and day):
    score 0-100, status, its own and its children's parts, the breakdown per rule."""

    __tablename__ = "org_health_scores"
    __table_args__ = (
        one_of("org_health_scores", "status", HEALTH_STATUSES),
        check("org_health_scores", "score_check", "score BETWEEN 0 AND 100"),
        {
            "comment": "Derived organisation health scores (geo/health), one build at a time",
            # Revision 0006 created it named like the health layer; 0011 renamed it (issue 10).
            "info": {"created_as": {"name": "org_health"}},
        },
    )
    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    rules_version: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(Text)
    own_score: Mapped[float | None] = mapped_column(Double)
    children_score: Mapped[float | None] = mapped_column(Double)
    members: Mapped[int] = mapped_column(Integer, comment="members of the subtree (not published)")
    size_class: Mapped[int | None] = mapped_column(
        SmallInteger, comment="members of the subtree as a published class (NULL under K)"
    )
    breakdown: Mapped[list[Any]] = mapped_column(JSONB)
    built_at: Mapped[datetime] = _now()


class OrgHealthSnapshot(Base):
    """An organisation's score at the end of a month (the trend); the current month's is
    replaced by every build, a closed month's is kept."""

    __tablename__ = "org_health_snapshots"
    __table_args__ = (one_of("org_health_snapshots", "status", HEALTH_STATUSES),)
    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(Text)


class Reminder(Base):
    """One reminder (自动提醒) to one secretary of one item of one organisation: a rule whose
    evidence falls due on `due_on` (or is overdue). Once per (user, org, rule, due date)."""

    __tablename__ = "reminders"
    __table_args__ = (
        one_of("reminders", "state", REMINDER_STATES),
        one_of("reminders", "kind", REMINDER_KINDS),
        UniqueConstraint("user_id", "org_id", "rule_id", "due_on", name="reminders_once"),
        Index("reminders_user_idx", "user_id", "state"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[int] = _org()
    rule_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = _now()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
