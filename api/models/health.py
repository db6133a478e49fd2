"""Organisation health (issue 13): scores with their breakdown and trend, rankings, the rules,
organisation life entered by the secretary, and reminders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from geo.vocab import HEALTH_STATUSES, MEETING_KINDS, REMINDER_KINDS, REMINDER_STATES

Status = Literal["green", "amber", "red"]
MeetingKind = Literal[
    "支部党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "民主评议"
]
ReminderKind = Literal["due", "overdue"]
ReminderState = Literal["open", "withdrawn"]
assert set(Status.__args__) == set(HEALTH_STATUSES)  # type: ignore[attr-defined]
assert set(MeetingKind.__args__) == set(MEETING_KINDS)  # type: ignore[attr-defined]
assert set(ReminderKind.__args__) == set(REMINDER_KINDS)  # type: ignore[attr-defined]
assert set(ReminderState.__args__) == set(REMINDER_STATES)  # type: ignore[attr-defined]
NO_NUL = r"^[^\x00]*$"


def _text_date(value: object) -> object:
    """pydantic also reads numbers as Unix times: a date in a body is YYYY-MM-DD text only."""
    if not isinstance(value, str | date):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_text_date)]


def _no_bool(value: object) -> object:
    """JSON booleans are not numbers (pydantic would read false as 0); 3.0 is an integer."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


NoBool = BeforeValidator(_no_bool)


class RuleOutcome(BaseModel):
    """One line of the breakdown: a rule (or `children`, the children's part), its evidence,
    its last fulfilment, its next due date, since when it is missing, and its points."""

    rule: str = Field(examples=["group_meeting"])
    name_zh: str = Field(examples=["党小组会"])
    name_en: str = Field(examples=["Party group meeting"])
    weight: float
    state: Literal["met", "partial", "missed", "not_due", "not_applicable"]
    share: float | None = Field(description="fraction of the judged periods fulfilled")
    periods: int = Field(description="periods judged")
    met_periods: int
    evidence_zh: str
    evidence_en: str
    last_fulfilled: date | None
    next_due: date | None
    missing_since: date | None
    points: float = Field(description="points this line gives the score")
    lost: float = Field(description="points it would add if fully met")


class TrendPoint(BaseModel):
    """The score at the end of a month (the current month: now)."""

    month: date = Field(description="the first day of the month")
    score: float
    status: Status


class OrgHealth(BaseModel):
    """An organisation's health: score 0-100, status, breakdown and 12-month trend."""

    org_id: int
    code: str
    name: str
    type: str
    score: float = Field(ge=0, le=100)
    status: Status
    own_score: float | None = Field(description="its own rules' score (none: no rule judged)")
    children_score: float | None = Field(
        description="its children's mean, weighted by member size class (never by count)"
    )
    as_of: date = Field(description="the day (Beijing) the score was computed for")
    rules_version: str
    built_at: datetime
    breakdown: list[RuleOutcome]
    trend: list[TrendPoint]


class RankedOrg(BaseModel):
    """One organisation of a ranking (rank null: not scored yet)."""

    org_id: int
    code: str
    name: str
    type: str
    score: float | None
    status: Status | None
    rank: int | None


class Distribution(BaseModel):
    """How many organisations of the ranking are green, amber and red."""

    green: int
    amber: int
    red: int


class Ranking(BaseModel):
    """An organisation's children (or its branches) ranked by score (排名)."""

    org_id: int
    of: Literal["children", "branches"]
    items: list[RankedOrg]
    distribution: Distribution


class HealthRules(BaseModel):
    """The rules in force: their version, the admin's row (null: the file's defaults), the
    rules document (see geo/health/rules.yaml)."""

    version: str
    set_id: int | None
    rules: dict[str, Any]


class MeetingIn(BaseModel):
    """A meeting held by the organisation."""

    kind: MeetingKind
    held_on: Day
    attendance: Annotated[int | None, NoBool] = Field(None, ge=0, le=100_000)
    activity_id: Annotated[int | None, NoBool] = Field(
        None, ge=1, le=2**63 - 1, description="its activity"
    )
    note: str | None = Field(None, max_length=500, pattern=NO_NUL)


class Meeting(BaseModel):
    """A recorded meeting."""

    id: int
    code: str
    org_id: int
    kind: MeetingKind
    held_on: date
    source: Literal["activity", "import", "entry"]
    activity_id: int | None
    attendance: int | None
    note: str | None


class TermIn(BaseModel):
    """A committee election (换届)."""

    elected_on: Day
    term_years: Annotated[int, NoBool] = Field(
        3, ge=1, le=10, description="3, or 5 for village and community"
    )


class Term(BaseModel):
    """A recorded committee election."""

    id: int
    code: str
    org_id: int
    elected_on: date
    term_years: int


class DuesIn(BaseModel):
    """A month's party dues as aggregates: share of members who paid, members in arrears."""

    month: str = Field(pattern=r"^[12]\d{3}-(0[1-9]|1[0-2])$", examples=["2026-05"])
    paid_share: Annotated[float, NoBool] = Field(ge=0, le=1)
    arrears_count: Annotated[int, NoBool] = Field(ge=0, le=100_000)


class Dues(BaseModel):
    """A recorded month of dues."""

    id: int
    code: str
    org_id: int
    month: date
    paid_share: float
    arrears_count: int


class Reminder(BaseModel):
    """A reminder to the caller: an item of an organisation due on a day, or overdue."""

    id: int
    org_id: int
    org_name: str
    rule_id: str
    kind: ReminderKind
    due_on: date
    title_zh: str
    title_en: str
    state: ReminderState
    created_at: datetime
    read_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None = Field(description="fulfilled or superseded")


class Reminders(BaseModel):
    """The caller's reminders, newest first, and the bell's count (open and unread)."""

    reminders: list[Reminder]
    unread: int
