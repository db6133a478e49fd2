"""Where the caller's scope enters every analysis query: one call per query, to `geo.scope`.

`geo.scope` holds the rules (DESIGN.md, issue 4 §7); this only gives its condition as a composed
fragment (geo/compose.py: its parameters travel with it) for the analysis SQL (nearest, coverage).
"""

from __future__ import annotations

import psycopg

from geo.compose import Fragment
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal, row_scope, visible_rows


def scope_condition(principal: Principal, table: str, alias: str) -> Fragment | None:
    """The condition limiting `table` rows (over `alias`) to the caller's, or None for every row."""
    cond = visible_rows(row_scope(principal, table, alias=alias))
    return None if cond.is_text("TRUE") else cond


_TOP_ORG = "SELECT id, parent_id FROM organisations WHERE code = %s"


def province(conn: psycopg.Connection, code: str) -> Principal:
    """The scope of a province: a planner bound to the top-level organisation `code` (its
    subtree's members; public places everywhere)."""
    row = conn.execute(_TOP_ORG, (code,)).fetchone()
    if row is None:
        raise NotFound(f"organisation {code!r} does not exist")
    if row[1] is not None:
        raise InvalidInput(f"organisation {code!r} is not a top-level organisation (a province)")
    return Principal(role="planner", org_id=int(row[0]))
