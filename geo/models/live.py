"""The live loop: registrations (报名), the organisations an activity invites besides its organiser,
the append-only audit of writes, the event stream's table (kept 48 h, NOTIFY'd on insert) and the
portal's webhooks with their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.models.base import Base, one_of
from geo.vocab import AUDIT_ACTIONS, DELIVERY_STATUSES, REGISTRATION_STATUSES


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Registration(Base):
    """A member's registration for an activity: registered, waitlisted (in `created_at` order) or
    cancelled (kept, so a member's history and the waitlist's order survive)."""

    __tablename__ = "registrations"
    __table_args__ = (
        one_of("registrations", "status", REGISTRATION_STATUSES),
        UniqueConstraint("activity_id", "member_id", name="registrations_once"),
        Index("registrations_member_idx", "member_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activities.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class ActivityInvitation(Base):
    """An organisation an activity invites besides its organiser (revision 0012): members of its
    subtree may attend, register and check in as the organiser's own may (the rule:
    geo.scope.attendable). Written with the activity (`invited_org_ids`, geo/live/invitations.py);
    an invited organisation cannot be deleted while it is invited."""

    __tablename__ = "activity_invitations"
    __table_args__ = (
        Index("activity_invitations_org_idx", "org_id"),
        {"comment": "Organisations an activity invites besides its organiser (受邀组织)"},
    )
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True
    )


class AuditEntry(Base):
    """One write through the API: who, when, what before and after, the request id. Append-only
    (a trigger refuses UPDATE and DELETE: geo/migrations/sql/0004_live.sql)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        one_of("audit_log", "action", AUDIT_ACTIONS),
        Index("audit_log_item_idx", "collection", "item_id"),
        {"comment": "Append-only record of every write through the API"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    actor: Mapped[str | None] = mapped_column(Text)
    actor_role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    collection: Mapped[str] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """One event of the live stream, written in the same transaction as the change it tells of
    (so none is lost between a commit and a crash) and kept 48 h for `Last-Event-ID` resumes.
    `org_id` is the organisation whose subtree may see it (NULL: everyone who may see the type);
    `data` never holds a member's position."""

    __tablename__ = "events"
    __table_args__ = (
        Index("events_at_idx", "at"),
        {"comment": "The live event stream (GET /api/events), kept 48 h; NOTIFY djmap_events"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    type: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(BigInteger)
    audience: Mapped[str] = mapped_column(Text, server_default=text("'public'"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class Webhook(Base):
    """A portal endpoint that receives events whose type matches one of `events` (`activity.*`),
    signed with HMAC-SHA256 under `secret`."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()


class WebhookDelivery(Base):
    """One event's delivery to one webhook: retried with backoff, its last status recorded."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        one_of("webhook_deliveries", "status", DELIVERY_STATUSES),
        UniqueConstraint("webhook_id", "event_id", name="webhook_deliveries_once"),
        Index("webhook_deliveries_due_idx", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhooks.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = _now()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
