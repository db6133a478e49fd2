"""The evidence of organisation health, read from the records into plain objects (`OrgRecord`)
that geo/health/score.py scores with pure functions.

Meetings are the `meetings` records and the activities of a meeting kind (geo.vocab
ACTIVITY_MEETING_KINDS) that were held (not cancelled, with check-ins) on their Beijing date;
terms are committee elections; dues are the per-month aggregates. Members are counted per
organisation (own members, and own full members); the counts stay inside the build.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.vocab import ACTIVITY_MEETING_KINDS

ORGS_SQL = sql_file(__file__, "sql/orgs.sql")
MEETINGS_SQL = sql_file(__file__, "sql/meetings.sql")
TERMS_SQL = sql_file(__file__, "sql/terms.sql")
DUES_SQL = sql_file(__file__, "sql/dues.sql")
# The tables whose data the scores are made from (their versions name a build).
TABLES = (
    "organisations",
    "members",
    "activities",
    "checkins",
    "meetings",
    "committee_terms",
    "dues_months",
    "health_rule_sets",
)


@dataclass
class OrgRecord:
    """One organisation's evidence: meetings by kind (sorted dates), committee elections
    (elected on, term years; sorted), dues arrears by month (first days)."""

    id: int
    parent_id: int | None
    type: str
    founded: date | None = None
    members: int = 0
    full_members: int = 0
    meetings: dict[str, list[date]] = field(default_factory=dict)
    terms: list[tuple[date, int]] = field(default_factory=list)
    dues: dict[date, int] = field(default_factory=dict)

    def held(self, kind: str, start: date, end: date, until: date) -> int:
        """Meetings of `kind` held in [start, end) and not after `until`."""
        days = self.meetings.get(kind, [])
        stop = min(end, _next(until))
        return max(0, bisect_left(days, stop) - bisect_left(days, start))

    def last_held(self, kind: str, until: date) -> date | None:
        """The last meeting of `kind` held on or before `until`."""
        days = self.meetings.get(kind, [])
        i = bisect_right(days, until)
        return days[i - 1] if i else None


def _next(d: date) -> date:
    return date.fromordinal(d.toordinal() + 1)


async def load(conn: Any, as_of: date) -> dict[int, OrgRecord]:
    """Every organisation's evidence up to `as_of` (one snapshot: call inside a transaction)."""
    orgs = {
        int(r["id"]): OrgRecord(
            int(r["id"]),
            r["parent_id"],
            str(r["type"]),
            r["founded"],
            int(r["members"]),
            int(r["full_members"]),
        )
        for r in await conn.fetch(ORGS_SQL)
    }
    kinds = list(ACTIVITY_MEETING_KINDS)
    meeting_kinds = [ACTIVITY_MEETING_KINDS[k] for k in kinds]
    found: dict[int, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for r in await conn.fetch(MEETINGS_SQL, as_of, kinds, meeting_kinds):
        found[int(r[0])][str(r[1])].append(r[2])
    for org_id, by_kind in found.items():
        if org_id in orgs:
            orgs[org_id].meetings = {k: sorted(set(v)) for k, v in by_kind.items()}
    for r in await conn.fetch(TERMS_SQL, as_of):
        if int(r[0]) in orgs:
            orgs[int(r[0])].terms.append((r[1], int(r[2])))
    for r in await conn.fetch(DUES_SQL, as_of):
        if int(r[0]) in orgs:
            orgs[int(r[0])].dues[r[1]] = int(r[2])
    return orgs
