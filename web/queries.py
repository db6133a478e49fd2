"""Read-only queries behind the page panels (view, organisation tree, stats, service point card).

Member figures leave here as `members` of an organisation (`/web/orgs.json`) and of a subtree or
the whole district (`/web/stats.json`), and as `coverage_pct` of a subtree or the district, under
the organisation-tree publication rule of geo/privacy/groups.py; anything held back is None.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from geo import compose
from geo.compose import Fragment
from geo.errors import Forbidden, NotFound
from geo.privacy.groups import DISTRICT, org_forest, publish_groups
from geo.scope import Principal, RowScope, bound_org, row_scope
from layers import catalog


def _sql(name: str) -> str:
    return compose.sql_file(__file__, f"sql/{name}.sql")


VIEW_SQL = _sql("view")
ORG_TREE_SQL = _sql("org_tree")
STATS_SQL = _sql("stats")
ORG_CHECK_SQL = _sql("org_check")
SERVICE_POINT_SQL = _sql("service_point")
UPCOMING_SQL = _sql("upcoming")
SEARCH_SQL = _sql("search")
ORG_MEMBERS_SQL = _sql("org_members")  # every organisation's members by class

# Publication (geo/privacy/groups.py) ------------------------------------------------------


@dataclass(frozen=True)
class MemberFigures:
    """The published member figures: counts by group key, coverage % by group key."""

    members: dict[Hashable, int]
    coverage_pct: dict[Hashable, float]

    def count(self, key: Hashable) -> int | None:
        """A group's member count, or None when it is held back."""
        return self.members.get(key)


async def member_figures(conn: asyncpg.Connection, radius_m: float | None) -> MemberFigures:
    """Every member figure the rule lets out (coverage only when a radius is given), computed
    now; pages serve the build of web/pagedata.py instead."""
    return figures_of(await conn.fetch(ORG_MEMBERS_SQL, radius_m), radius_m)


def figures_of(rows: Sequence[Mapping[str, Any]], radius_m: float | None) -> MemberFigures:
    """The published figures of ORG_MEMBERS_SQL's rows (geo/privacy/groups.py)."""
    counted = publish_groups(org_forest(rows, lambda r: (r["members"],), lambda key: True))
    members = {key: c[0] for key, c in counted.items()}
    pct: dict[Hashable, float] = {}
    if radius_m is not None:
        classes = lambda r: (  # noqa: E731
            r["covered"],
            r["members"] - r["covered"] - r["no_home"],
            r["no_home"],
        )
        shown = lambda key: key[0] != "own" and key in members  # noqa: E731
        for key, (cov, uncov, _) in publish_groups(org_forest(rows, classes, shown)).items():
            if cov + uncov:
                pct[key] = round(100.0 * cov / (cov + uncov), 1)
    return MemberFigures(members, pct)


# Queries ----------------------------------------------------------------------------------------


async def district_view(conn: asyncpg.Connection) -> tuple[float, float, float, float] | None:
    """Bounds (w, s, e, n) of the district, or of whatever data there is; None when empty."""
    row = await conn.fetchrow(VIEW_SQL)
    return None if row is None else (row["w"], row["s"], row["e"], row["n"])


def reads_member_figures(audience: str) -> bool:
    """True when an audience may read member figures: the audience of the catalog's member heat,
    the API's one member-derived layer (member counts are the same data, by organisation)."""
    heat = catalog.heat_of("members")  # the layer publishing member figures (table members)
    return heat is not None and catalog.can_see(heat, audience)


def member_audiences() -> list[str]:
    """The audiences that may read member figures (for the pages' scripts)."""
    return [a for a in catalog.AUDIENCES if reads_member_figures(a)]


async def org_tree(
    conn: asyncpg.Connection,
    root: int | None,
    audience: str = "public",
    built: MemberFigures | None = None,
) -> list[dict[str, Any]]:
    """Organisations of a subtree (all when root is None) with their published member counts,
    for audiences that may read member figures (None for the others): from the page figures'
    build when given, else computed now."""
    rows = await conn.fetch(ORG_TREE_SQL, root)
    figures = None
    if reads_member_figures(audience):
        figures = built or await member_figures(conn, None)
    return [
        {
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "type": r["type"],
            "parent_id": r["parent_id"],
            "lon": r["lon"],
            "lat": r["lat"],
            "members": figures.count(("own", r["id"])) if figures else None,
            "last_activity": r["last_activity"].isoformat() if r["last_activity"] else None,
        }
        for r in rows
    ]


async def check_org(conn: asyncpg.Connection, org: int, who: Principal) -> None:
    """NotFound for an unknown organisation; Forbidden when the caller may not read member
    figures (anonymous callers included) or the organisation is outside a bound caller's subtree."""
    bound = bound_org(who)
    row = await conn.fetchrow(ORG_CHECK_SQL, org, bound)
    if row is None or not row["known"]:
        raise NotFound(f"no organisation {org}")
    if not reads_member_figures(who.audience):
        raise Forbidden(
            f"an organisation's statistics are not available to the {who.audience} audience "
            f"(they need {' or '.join(member_audiences())})"
        )
    if not row["inside"]:
        raise Forbidden(f"organisation {org} is outside your organisation's subtree ({bound})")


async def stats(
    conn: asyncpg.Connection,
    root: int | None,
    radius_m: float,
    audience: str = "public",
    built: MemberFigures | None = None,
) -> dict[str, Any]:
    """Statistics cards: counts, activities this month, inactive organisations, coverage %
    (member figures only for audiences that may read them, else None): from the page figures'
    build when given (made for `radius_m`), else computed now."""
    row = await conn.fetchrow(STATS_SQL, root)
    out = dict(row) if row else {}
    out["members"] = out["coverage_pct"] = None
    if reads_member_figures(audience):
        figures = built or await member_figures(conn, radius_m)
        key = DISTRICT if root is None else ("org", root)
        out["members"] = figures.count(key)
        out["coverage_pct"] = figures.coverage_pct.get(key)
    out["coverage_radius_m"] = radius_m
    return out


def _columns(fields: Iterable[catalog.Field]) -> Fragment:
    return compose.join(
        ", ",
        (compose.sql("{e} AS {n}", e=compose.raw(f.expr), n=compose.ident(f.name)) for f in fields),
    )


async def _card_rows(
    conn: asyncpg.Connection, template: str, layer: catalog.Layer, who: Principal, sp_id: int
) -> tuple[list[asyncpg.Record], RowScope]:
    """A card statement's rows for the caller: the layer's fields of the caller's audience, and
    the rows of the caller's scope (every row when the rest stays public)."""
    scope = row_scope(who, layer)
    stmt = compose.sql(
        template,
        fields=_columns(catalog.fields_for(layer, who.audience)),
        own=scope.cond,
        where=compose.TRUE if scope.public_rest else scope.cond,
        id=compose.value(sp_id),
    )
    return await conn.fetch(stmt.compile().text, *stmt.args()), scope


def _card(
    row: asyncpg.Record, layer: catalog.Layer, who: Principal, scope: RowScope
) -> dict[str, Any]:
    """The row's catalog fields for the caller; public fields only on rows seen only as public."""
    audience = who.audience if row["in_scope"] or not scope.public_rest else "public"
    return {f.name: row[f.name] for f in catalog.fields_for(layer, audience)}


async def _upcoming(conn: asyncpg.Connection, sp_id: int, who: Principal) -> list[dict[str, Any]]:
    layer = catalog.of_table("activities")
    if layer is None or not catalog.can_see(layer, who.audience):
        return []
    rows, scope = await _card_rows(conn, UPCOMING_SQL, layer, who, sp_id)
    return [_card(r, layer, who, scope) for r in rows]


async def service_point(
    conn: asyncpg.Connection, sp_id: int, who: Principal
) -> dict[str, Any] | None:
    """A service point's card for the caller: catalog fields of its audience (public fields only
    for another subtree's point), organisation, panoramas and the upcoming activities it may see."""
    layer = catalog.of_table("service_points")
    if layer is None:
        return None
    rows, scope = await _card_rows(conn, SERVICE_POINT_SQL, layer, who, sp_id)
    if not rows:
        return None
    row = rows[0]
    return {
        **_card(row, layer, who, scope),
        "lon": row["lon"],
        "lat": row["lat"],
        "org_name": row["org_name"],
        "panoramas": orjson.loads(row["panoramas"]),
        "upcoming": await _upcoming(conn, sp_id, who),
    }


async def search_service_points(
    conn: asyncpg.Connection, text: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Service points whose name or address contains the text."""
    return [dict(r) for r in await conn.fetch(SEARCH_SQL, text, limit)]
