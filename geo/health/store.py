"""The health build's store: every organisation's score, status and breakdown in
`org_health_scores` (replaced whole, in one transaction, by each build), and the monthly
snapshots of the trend in `org_health_snapshots` (the current month's replaced by each build; a
month with none yet, of the last twelve, computed from the records as of its last day).

The build runs under an advisory lock (one builder at a time in any process); it is started by
the build registry (tiles/health_build.py), the CLI or the reminders run, never by a GET.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.health import evidence, rules
from geo.health.score import OrgScore, RuleResult, month_ends, score_all
from geo.privacy import size_class

TABLE = "org_health_scores"  # geo.models.health.OrgHealth
LOCK_KEY = 0x646A6D6170_0D  # "djmap", issue 13
LOCK_SQL = "SELECT pg_advisory_xact_lock($1)"
CLEAR_SQL = sql_file(__file__, "sql/clear_scores.sql")
MONTHS_SQL = sql_file(__file__, "sql/snapshot_months.sql")
SNAPSHOT_SQL = sql_file(__file__, "sql/snapshot_upsert.sql")
TOKEN_SQL = sql_file(__file__, "sql/scores_token.sql")
COLUMNS = (
    "org_id",
    "token",
    "as_of",
    "rules_version",
    "score",
    "status",
    "own_score",
    "children_score",
    "members",
    "size_class",
    "breakdown",
)
CHILDREN = ("children", "下级组织（按党员规模加权平均）", "Children (size-weighted mean)")


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _rule_json(r: RuleResult) -> dict[str, Any]:
    out = asdict(r)
    out.pop("items")
    for key in ("last_fulfilled", "next_due", "missing_since"):
        out[key] = None if out[key] is None else out[key].isoformat()
    out["points"], out["lost"] = round(r.points, 2), round(r.lost, 2)
    out["share"] = None if r.share is None else round(r.share, 4)
    return out


def breakdown(s: OrgScore, ruleset: rules.RuleSet) -> list[dict[str, Any]]:
    """The breakdown as stored: each own rule, then the children's part when there are any."""
    out = [_rule_json(r) for r in s.rules]
    if s.children_score is not None:
        rule_id, zh, en = CHILDREN
        mean = round(s.children_score, 1)
        out.append(
            {
                "rule": rule_id,
                "name_zh": zh,
                "name_en": en,
                "weight": ruleset.rollup_weight,
                "state": "met" if s.children_lost == 0 else "partial",
                "share": round(s.children_score / 100, 4),
                "periods": 0,
                "met_periods": 0,
                "evidence_zh": f"下级组织平均{mean}分",
                "evidence_en": f"children's mean score {mean}",
                "last_fulfilled": None,
                "next_due": None,
                "missing_since": None,
                "points": round(s.children_points, 2),
                "lost": round(s.children_lost, 2),
            }
        )
    return out


def records(
    scores: dict[int, OrgScore], token: str, as_of: date, ruleset: rules.RuleSet, label: str
) -> list[tuple[Any, ...]]:
    """The rows of `org_health_scores` for a build."""
    return [
        (
            s.org_id,
            token,
            as_of,
            label,
            _round(s.score),
            s.status,
            _round(s.own_score),
            _round(s.children_score),
            s.members,
            size_class(s.members),
            json.dumps(breakdown(s, ruleset), ensure_ascii=False),
        )
        for s in scores.values()
    ]


async def built_token(conn: Any) -> tuple[str, float] | None:
    """The token of the build in the table and when it was made (None before the first)."""
    row = await conn.fetchrow(TOKEN_SQL)
    return None if row is None else (str(row[0]), float(row[1]))


async def rebuild(conn: Any, token: str, today: date) -> dict[int, OrgScore]:
    """Score every organisation as of `today` and store the build (in the caller's
    transaction, which holds the lock: `lock`); returns the scores."""
    ruleset, set_id = await rules.current(conn)
    orgs = await evidence.load(conn, today)
    scores = score_all(orgs, ruleset, today)
    await conn.execute(CLEAR_SQL)
    label = rules.version_label(ruleset, set_id)
    rows = records(scores, token, today, ruleset, label)
    await conn.copy_records_to_table(TABLE, records=rows, columns=COLUMNS)
    await snapshots(conn, orgs, ruleset, scores, today)
    return scores


async def snapshots(
    conn: Any,
    orgs: dict[int, evidence.OrgRecord],
    ruleset: rules.RuleSet,
    scores: dict[int, OrgScore],
    today: date,
) -> None:
    """This month's snapshot replaced; earlier months of the last twelve that have none are
    computed from the records as of their last day."""
    ends = month_ends(today)
    have = {r[0] for r in await conn.fetch(MONTHS_SQL, ends[0].replace(day=1))}
    for end in ends:
        month = end.replace(day=1)
        current = end == today
        if not current and month in have:
            continue
        month_scores = scores if current else score_all(orgs, ruleset, end)
        await conn.executemany(
            SNAPSHOT_SQL,
            [(s.org_id, month, _round(s.score), current, s.status) for s in month_scores.values()],
        )


async def lock(conn: Any) -> None:
    """Take the build's advisory lock for the caller's transaction."""
    await conn.execute(LOCK_SQL, LOCK_KEY)
