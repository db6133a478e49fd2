"""Synthetic registrations (报名) and check-ins for the sample district's activities, so the live
pages show a believable mix: most activities draw 40-130 % of their capacity from the members
they invite (the organiser's subtree; the rest of a full one waits), a few registrations are
cancelled, and activities that have started got check-ins by geofence, QR code and card scan.

Everything is seeded (the same data for the same sample and seed) and labelled: the load is
recorded in the `imports` audit as kind `samples-live`, source "synthetic …（示例）", and every
activity it touches is itself a sample row whose title carries （示例）.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from geo import compose

AUDIT_KIND = "samples-live"
SOURCE = "synthetic registrations and check-ins（示例）"
ACTIVITIES_SQL = compose.sql_file(__file__, "live_activities.sql")
REGISTRATIONS_SQL = compose.sql_file(__file__, "live_registrations.sql")
CHECKINS_SQL = compose.sql_file(__file__, "live_checkins.sql")
RECORD_SQL = (
    "INSERT INTO imports (kind, source_name, actor, finished_at, status, rows_total, rows_written)"
    " VALUES (%s, %s, 'djmap samples load', now(), 'written', %s, %s)"
)
METHODS = ("geofence", "code", "scan")
METHOD_SHARE = (0.5, 0.35, 0.15)


@dataclass
class Rows:
    """Columns of the rows to insert, per table."""

    reg: list[list[object]] = field(default_factory=lambda: [[] for _ in range(5)])
    ins: list[list[object]] = field(default_factory=lambda: [[] for _ in range(5)])

    def register(self, act: int, member: int, status: str, at: datetime) -> None:
        for col, v in zip(self.reg, (act, member, status, at, at), strict=True):
            col.append(v)

    def check_in(self, act: int, member: int, at: datetime, dist: float | None, how: str) -> None:
        for col, v in zip(self.ins, (act, member, at, dist, how), strict=True):
            col.append(v)


def _activity(rows: Rows, act: tuple, now: datetime, rng: np.random.Generator) -> None:
    """One activity's registrations and (when it has started) check-ins."""
    act_id, capacity, starts, ends, invited = act
    cap = int(capacity) if capacity is not None else 30
    want = min(len(invited), int(cap * rng.uniform(0.4, 1.3)))
    if want == 0:
        return
    chosen = rng.choice(np.asarray(invited, dtype=np.int64), size=want, replace=False)
    lead = np.sort(rng.uniform(1, 14 * 24, want))[::-1]  # hours before the start, earliest first
    started = starts - timedelta(minutes=30) <= now
    registered = 0
    for i, member in enumerate(chosen.tolist()):
        at = starts - timedelta(hours=float(lead[i]))
        if rng.random() < 0.05:
            rows.register(act_id, member, "cancelled", at)
        elif registered >= cap:
            rows.register(act_id, member, "waitlisted", at)
        else:
            registered += 1
            rows.register(act_id, member, "registered", at)
            if started and rng.random() < 0.8:
                _check_in(rows, act_id, member, starts, min(ends, now), rng)


def _check_in(
    rows: Rows, act: int, member: int, starts: datetime, until: datetime, rng: np.random.Generator
) -> None:
    how = str(rng.choice(METHODS, p=METHOD_SHARE))
    opens = starts - timedelta(minutes=20)
    span = max((until - opens).total_seconds(), 60.0)
    at = opens + timedelta(seconds=float(rng.uniform(0, min(span, 40 * 60))))
    dist: float | None = None
    if how == "geofence" or (how == "code" and rng.random() < 0.5):
        dist = round(float(rng.uniform(3, 180)), 1)
    rows.check_in(act, member, at, dist, how)


def add_live_sample(url: str, seed: int = 42, now: datetime | None = None) -> tuple[int, int]:
    """Add the synthetic registrations and check-ins (activities that have none yet); the
    numbers of registrations and check-ins written."""
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
    rows = Rows()
    with psycopg.connect(url) as conn:
        for act in conn.execute(ACTIVITIES_SQL).fetchall():
            _activity(rows, act, now, rng)
        conn.execute(REGISTRATIONS_SQL, rows.reg)
        conn.execute(CHECKINS_SQL, rows.ins)
        n_reg, n_ins = len(rows.reg[0]), len(rows.ins[0])
        conn.execute(RECORD_SQL, (AUDIT_KIND, SOURCE, n_reg + n_ins, n_reg + n_ins))
    return n_reg, n_ins
