"""Where the caller's scope enters every analysis query: one call per query, to `geo.scope`.

`geo.scope.scope_filter` holds the rules (DESIGN.md, issue 4 §7); this only turns its condition
into an `AND …` fragment for the analysis SQL (nearest, coverage).
"""

from __future__ import annotations

from geo.scope import Principal, scope_filter, scope_filter_psycopg


def _fragment(sql: str) -> str:
    return "" if sql.strip().upper() == "TRUE" else f" AND {sql}"


def scope_clause(
    principal: Principal, table: str, alias: str, param: int
) -> tuple[str, list[object]]:
    """` AND <condition>` limiting `table` rows to the caller's (or ''), `$N` params from `param`."""
    sql, args = scope_filter(principal, table, alias=alias, start=param)
    return _fragment(sql), list(args)


def scope_clause_psycopg(principal: Principal, table: str, alias: str) -> tuple[str, list[object]]:
    """The same with psycopg `%s` placeholders."""
    sql, args = scope_filter_psycopg(principal, table, alias=alias)
    return _fragment(sql), list(args)
