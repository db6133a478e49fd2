"""Synthetic organisation life for the sample district (issue 13): twelve months of meetings,
committee elections and monthly dues, with realistic gaps so the health map shows a real mix:
most branches keep their meetings, a few fall behind (whole kinds missing for months), one
organisation's term is overdue and some branches have dues arrears (a few for 6 months and more).

Set-based (issue 15): each table is one INSERT … SELECT over the organisations (the .sql files
beside this module), so national size costs what PostgreSQL's inserts cost, not a Python loop
per meeting. The periods of the year (a few dozen per kind) are made here; every random draw is
20 bits of a seeded hash (`hashtextextended`) of the row's key, so the same seed gives the same
rows in any order and at any size.

Seeded and labelled: every row's code starts with `sample:` and meetings carry the note （示例）;
the load is recorded in the `imports` audit as kind `samples-orglife`. A rerun adds nothing
(rows are keyed by their codes).
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import accumulate

import psycopg

from geo.compose import sql_file
from geo.health import clock
from geo.health.periods import MONTHS, add_months, period_of

AUDIT_KIND = "samples-orglife"
SOURCE = "synthetic meetings, elections and dues（示例）"
NOTE = "（示例）"
MEETINGS_SQL = sql_file(__file__, "orglife_meetings.sql")
TERMS_SQL = sql_file(__file__, "orglife_terms.sql")
DUES_SQL = sql_file(__file__, "orglife_dues.sql")
RECORD_SQL = (
    "INSERT INTO imports (kind, source_name, actor, finished_at, status, rows_total, rows_written)"
    " VALUES (%s, %s, 'djmap samples load', now(), 'written', %s, %s)"
)
# meeting kind → its period (as the default rules ask)
CADENCE = {
    "支部党员大会": "quarter",
    "支委会": "month",
    "党小组会": "month",
    "党课": "quarter",
    "主题党日": "month",
    "组织生活会": "year",
    "民主评议": "year",
}
# profile → chance that a period's meeting is held; and the share of branches with it
PROFILES = {"keeps": 0.97, "slips": 0.75, "behind": 0.35}
SHARES = {"keeps": 0.7, "slips": 0.2, "behind": 0.1}
STOPPED_MONTHS = 4  # a `behind` branch holds none of one kind for the periods since then


def meeting_slots(today: date) -> dict[str, list[object]]:
    """Every (kind, period) of the twelve months to `today`, as the meetings statement's arrays:
    the kind, the hash key's tail, the first day, the days it spans to its last day (or today),
    and whether a `behind` branch's stopped kind skips it."""
    slots: dict[str, list[object]] = {"kinds": [], "keys": [], "starts": [], "days": [], "late": []}
    start = add_months(today.replace(day=1), -12)
    stopped_since = add_months(today, -STOPPED_MONTHS)
    for kind, period in CADENCE.items():
        span = period_of(period, start)
        while span[0] <= today:
            last = min(span[1] - timedelta(days=1), today)
            slots["kinds"].append(kind)
            slots["keys"].append(f":{kind}:{span[0].isoformat()}")
            slots["starts"].append(span[0])
            slots["days"].append(max((last - span[0]).days, 0))
            slots["late"].append(span[0] >= stopped_since)
            span = (span[1], add_months(span[1], MONTHS[period]))
    return slots


def meeting_params(seed: int, today: date) -> dict[str, object]:
    """The meetings statement's parameters."""
    cuts = list(accumulate(SHARES.values()))
    params: dict[str, object] = {
        "seed": seed,
        "cut_keeps": cuts[0],
        "cut_slips": cuts[1],
        "p_keeps": PROFILES["keeps"],
        "p_slips": PROFILES["slips"],
        "p_behind": PROFILES["behind"],
        "kinds": list(CADENCE),
        "note": NOTE,
    }
    params.update({f"slot_{k}": v for k, v in meeting_slots(today).items()})
    return params


def _count(conn: psycopg.Connection, query: str, params: dict[str, object]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def add_orglife_sample(url: str, seed: int = 42, today: date | None = None) -> int:
    """Add the synthetic organisation life; the number of rows offered (a rerun offers the same
    rows and writes none of them again)."""
    today = today or clock.today()
    first = add_months(today.replace(day=1), -11)
    months = [add_months(first, i) for i in range(12)]
    with psycopg.connect(url) as conn:
        total = _count(conn, MEETINGS_SQL, meeting_params(seed, today))
        total += _count(conn, TERMS_SQL, {"seed": seed, "today": today})
        total += _count(conn, DUES_SQL, {"seed": seed, "months": months})
        conn.execute(RECORD_SQL, (AUDIT_KIND, SOURCE, total, total))
    return total
