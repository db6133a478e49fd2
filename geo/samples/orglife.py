"""Synthetic organisation life for the sample district (issue 13): twelve months of meetings,
committee elections and monthly dues, with realistic gaps so the health map shows a real mix:
most branches keep their meetings, a few fall behind (whole kinds missing for months), one
organisation's term is overdue and some branches have dues arrears (a few for 6 months and more).

Seeded and labelled: every row's code starts with `sample:` and meetings carry the note （示例）;
the load is recorded in the `imports` audit as kind `samples-orglife`. A rerun adds nothing
(rows are keyed by their codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import psycopg
from psycopg import sql

from geo.health import clock
from geo.health.periods import MONTHS, add_months, period_of

AUDIT_KIND = "samples-orglife"
SOURCE = "synthetic meetings, elections and dues（示例）"
NOTE = "（示例）"
ORGS_SQL = "SELECT id, code, type FROM organisations ORDER BY code"
# table → its columns as the rows below give them (staged by COPY, then inserted once each)
COLUMNS = {
    "meetings": ("code", "org_id", "kind", "held_on", "source", "attendance", "note"),
    "committee_terms": ("code", "org_id", "elected_on", "term_years"),
    "dues_months": ("code", "org_id", "month", "paid_share", "arrears_count"),
}
STAGE_SQL = "CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
COPY_SQL = "COPY {stage} ({cols}) FROM STDIN"
MOVE_SQL = "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING"
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
FLUSH_ROWS = 200_000  # meetings made before they are staged
# profile → chance that a period's meeting is held
PROFILES = {"keeps": 0.97, "slips": 0.75, "behind": 0.35}


@dataclass
class Rows:
    """Rows to insert, per table."""

    meetings: list[tuple[object, ...]] = field(default_factory=list)
    terms: list[tuple[object, ...]] = field(default_factory=list)
    dues: list[tuple[object, ...]] = field(default_factory=list)


def _profile(rng: np.random.Generator) -> str:
    return str(rng.choice(list(PROFILES), p=(0.7, 0.2, 0.1)))


def _meetings(rows: Rows, org: tuple, today: date, rng: np.random.Generator) -> None:
    """Twelve months of a branch's meetings under its profile (a `behind` branch also stops
    one kind altogether for the last months)."""
    org_id, code, _ = org
    profile = _profile(rng)
    stopped = str(rng.choice(list(CADENCE))) if profile == "behind" else None
    start = add_months(today.replace(day=1), -12)
    for kind, period in CADENCE.items():
        span = period_of(period, start)
        while span[0] <= today:
            last = min(span[1] - timedelta(days=1), today)
            skip = kind == stopped and span[0] >= add_months(today, -4)
            if not skip and rng.random() < PROFILES[profile]:
                days = max((last - span[0]).days, 0)
                held = span[0] + timedelta(days=int(rng.integers(0, days + 1)))
                key = f"sample:{code}:{kind}:{held.isoformat()}"
                attended = int(rng.integers(5, 40))
                rows.meetings.append((key, org_id, kind, held, "import", attended, NOTE))
            span = (span[1], add_months(span[1], MONTHS[period]))


def _term(rows: Rows, org: tuple, today: date, rng: np.random.Generator, overdue: bool) -> None:
    org_id, code, _ = org
    years = 5 if rng.random() < 0.2 else 3  # village and community organisations: 5 years
    back = years * 365 + 60 if overdue else int(rng.integers(30, years * 365 - 30))
    elected = today - timedelta(days=back)
    rows.terms.append((f"sample:{code}:{elected.isoformat()}", org_id, elected, years))


def _dues(rows: Rows, org: tuple, today: date, rng: np.random.Generator) -> None:
    """Twelve months of dues; some branches owe for 2-3 months, a few for 6 months and more."""
    org_id, code, _ = org
    roll = rng.random()
    run = 0 if roll < 0.8 else (int(rng.integers(2, 4)) if roll < 0.93 else int(rng.integers(6, 9)))
    first = add_months(today.replace(day=1), -11)
    for i in range(12):
        month = add_months(first, i)
        owing = i >= 12 - run
        arrears = int(rng.integers(1, 4)) if owing else 0
        share = round(float(rng.uniform(0.85, 0.97)) if owing else 1.0, 3)
        rows.dues.append(
            (f"sample:{code}:{month.strftime('%Y-%m')}", org_id, month, share, arrears)
        )


def _names(table: str) -> dict[str, sql.Composable]:
    return {
        "table": sql.Identifier(table),
        "stage": sql.Identifier(f"stage_{table}"),
        "cols": sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table])),
    }


def _copy(conn: psycopg.Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    """Stage the rows by COPY (the staging table made by `add_orglife_sample`)."""
    with conn.cursor().copy(sql.SQL(COPY_SQL).format(**_names(table))) as copy:
        for row in rows:
            copy.write_row(row)


def _flush(conn: psycopg.Connection, rows: Rows) -> int:
    """Stage what was made so far and empty the lists (memory stays that of one batch: at
    500,000 organisations the whole year is ~21 million rows, 7.5 GB held at once)."""
    staged = 0
    for table, found in (
        ("meetings", rows.meetings),
        ("committee_terms", rows.terms),
        ("dues_months", rows.dues),
    ):
        _copy(conn, table, found)
        staged += len(found)
        found.clear()
    return staged


def add_orglife_sample(url: str, seed: int = 42, today: date | None = None) -> int:
    """Add the synthetic organisation life; the number of rows written."""
    today = today or clock.today()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
    rows = Rows()
    total = 0
    with psycopg.connect(url) as conn:
        orgs = conn.execute(ORGS_SQL).fetchall()
        overdue = int(rng.integers(0, len(orgs))) if orgs else -1
        for table in COLUMNS:
            conn.execute(sql.SQL(STAGE_SQL).format(**_names(table)))
        for i, org in enumerate(orgs):
            _term(rows, org, today, rng, overdue=i == overdue)
            if org[2] == "党支部":
                _meetings(rows, org, today, rng)
                _dues(rows, org, today, rng)
            if len(rows.meetings) >= FLUSH_ROWS:
                total += _flush(conn, rows)
        total += _flush(conn, rows)
        for table in COLUMNS:
            conn.execute(sql.SQL(MOVE_SQL).format(**_names(table)))
        conn.execute(RECORD_SQL, (AUDIT_KIND, SOURCE, total, total))
    return total
