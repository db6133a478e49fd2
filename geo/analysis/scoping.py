"""Where the caller's scope enters every analysis query: one call per query, to `geo.scope`.

`geo.scope` holds the rules (DESIGN.md, issue 4 §7); this only gives its condition as a composed
fragment (geo/compose.py: its parameters travel with it) for the analysis SQL (nearest, coverage).
"""

from __future__ import annotations

from geo.compose import Fragment
from geo.scope import Principal, row_scope, visible_rows


def scope_condition(principal: Principal, table: str, alias: str) -> Fragment | None:
    """The condition limiting `table` rows (over `alias`) to the caller's, or None for every row."""
    cond = visible_rows(row_scope(principal, table, alias=alias))
    return None if cond.is_text("TRUE") else cond
