"""Registrations (报名), a member's own activities, check-in codes and the member card."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.models.ogc import DateTimeText, Open

RegistrationStatus = Literal["registered", "waitlisted", "cancelled"]
# As listed: a registration of a member who may not attend the activity (made before registration
# applied the rule, or its invitation withdrawn since) is not invited: not counted, no check-in.
ListedStatus = Literal["registered", "waitlisted", "cancelled", "not_invited"]


class RegistrationResult(Open):
    """The caller's registration after the change (a waitlisted one gives its place, 1 = next)."""

    activity_id: int
    status: RegistrationStatus
    position: int | None = Field(default=None, description="place on the waitlist (1 = next)")


class RosterEntry(Open):
    """One member on the organiser's list: registered, waitlisted, registered but not invited
    (not counted), or checked in without a registration (status null)."""

    member_id: int
    name: str
    branch: str | None
    status: Literal["registered", "waitlisted", "not_invited"] | None
    position: int | None
    registered_at: DateTimeText | None
    checked_in_at: DateTimeText | None
    method: Literal["geofence", "code", "scan"] | None


class RegistrationSummary(Open):
    """An activity's registrations. The organiser gets exact counts and `members`; anyone else
    gets each count as 0 or at least 10, else null with `fewer_than` = 10 (waitlisted null
    whenever registered is: a waitlist means full), and no list."""

    activity_id: int
    capacity: int | None
    registered: int | None
    waitlisted: int | None
    attended: int | None
    fewer_than: int | None = Field(default=None, description="set when a count is held back")
    members: list[RosterEntry] | None = Field(description="names: the organiser only, else null")


class MemberCard(Open):
    """The member behind the account and their branch (never their home)."""

    member_id: int
    name: str
    status: str
    branch_id: int
    branch: str
    attended_this_year: int


class MyRegistration(Open):
    """One of the member's registrations with its activity's state."""

    activity_id: int
    title: str
    kind: str
    starts_at: DateTimeText
    ends_at: DateTimeText
    activity_status: Literal["scheduled", "cancelled"]
    cancel_reason: str | None
    service_point: str | None
    status: ListedStatus
    position: int | None
    registered_at: DateTimeText
    checked_in_at: DateTimeText | None


class NearbyActivity(Open):
    """An upcoming activity near the member's branch (or the point given)."""

    id: int
    title: str
    kind: str
    starts_at: DateTimeText
    ends_at: DateTimeText
    capacity: int | None
    service_point_id: int | None
    service_point: str | None
    organiser: str
    lon: float
    lat: float
    distance_m: float
    my_status: ListedStatus | None


class MyActivities(Open):
    """`GET /api/me/activities`: registrations, attendance this year, upcoming activities near by."""

    member: MemberCard
    registrations: list[MyRegistration]
    attended_this_year: int
    nearby_from: Literal["branch", "point"]
    nearby: list[NearbyActivity]


class CodeToken(Open):
    """A signed 60-second code and its QR code (SVG, made on the server)."""

    token: str
    expires_at: DateTimeText
    ttl_s: int
    qr_svg: str = Field(description="the QR code as an SVG document")


class CheckinCode(CodeToken):
    """The activity's rotating check-in code; a phone that reads the QR opens `url`."""

    url: str = Field(examples=["/checkin?t=a12.1767000000.abcdefghijklmnopqrstuv"])


class CodeCheckin(BaseModel):
    """A check-in with the activity's code; the phone's position, when known, is evidence only."""

    token: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)


class MemberCode(BaseModel):
    """The code of a member's card, scanned by the activity's organiser."""

    member_code: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
