"""Where the caller's scope enters every analysis query (one call site per query).

The rules live with the auth work in `geo.scope`; until it provides a scoping function, the
fallback here applies the documented ones: service points are public; activities are public, except
that a role bound to an organisation (leader, planner, steward) sees its subtree; member weights in
coverage are limited to the caller's subtree. Admins and unbound roles see the whole district.
"""

from __future__ import annotations

from geo.scope import Principal


def bound_org(principal: Principal) -> int | None:
    """Root of the organisation subtree the caller is limited to (None = everything)."""
    if principal.is_admin or principal.role in ("public", "member"):
        return None
    return principal.org_id


def scope_clause(
    principal: Principal, table: str, alias: str, param: int
) -> tuple[str, list[object]]:
    """SQL condition (starting with AND, or empty) limiting `table` to the caller's rows; params from $param."""
    org = bound_org(principal)
    if org is None or table == "service_points":
        return "", []
    if table == "activities":
        return f" AND {alias}.organiser_id IN (SELECT id FROM org_subtree(${param}))", [org]
    if table == "members":
        return f" AND {alias}.branch_id IN (SELECT id FROM org_subtree(${param}))", [org]
    return "", []


def scope_clause_psycopg(principal: Principal, table: str, alias: str) -> tuple[str, list[object]]:
    """The same condition with psycopg `%s` placeholders."""
    sql, args = scope_clause(principal, table, alias, 1)
    return sql.replace("$1", "%s"), args
