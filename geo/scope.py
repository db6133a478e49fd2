"""Who is asking, and which rows they may see: the ONE place every query is scoped.

Rules (DESIGN.md, issue 4 §7):
- admin, and roles with no organisation (`org_id` None, a district-wide role), see every row.
- public sees every row of the layers its audience may see (the catalog gates layers and fields).
- leader, planner and steward bound to an organisation see only the rows hanging on that
  organisation's subtree (`org_subtree`): organisations, activities (by organiser), members (by
  branch) and check-ins (by the member's branch). Service points are public places: they see all of
  them, but those of other subtrees with public fields only. Buildings, roads, districts and
  panoramas are not scoped.
- a member sees public data at the public audience, plus at the member audience: their own record,
  their own check-ins, their branch's organisations (the branch and the organisations above it)
  and the activities they may attend (`attendable`: organised by the branch or an organisation
  above it, or inviting one of those). Rows outside that stay visible only when the layer is
  public, and then only with public fields (`RowScope.public_rest`). A registration does not
  widen what they may attend: one whose member may not attend (made before registration applied
  the rule, or the invitation withdrawn since) is "not invited" (`attends`, row by row).
- member home points never leave the server below admin: the members layer is no collection and
  `scope_filter` gives only a member their own row, never anyone else's below the subtree rule.

How rows hang on the tree is the layer's own fact (`Layer.rows`, a `layers.base.RowLink`); for
queries over raw tables (analysis, pages) `TABLES` says the same of each table.

`row_scope(principal, layer)` gives the caller's rows as a composed SQL condition over the alias
(geo/compose.py: its parameter travels with it); `scope_filter` the same as text with `$N` from a
given number, `scope_filter_psycopg` with `%s`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from geo import compose
from geo.compose import Fragment
from geo.db.partition import layout
from geo.vocab import ROLES
from layers.base import ACTIVITY_INVITED, Layer, RowLink, audience_of

__all__ = [
    "PUBLIC",
    "ROLES",
    "TABLES",
    "Principal",
    "RowScope",
    "attendable",
    "attends",
    "member_chain",
    "offered",
    "open_to",
    "row_scope",
    "scope_filter",
]


@dataclass(frozen=True)
class Principal:
    """The caller: a role scoped to an organisation subtree (None = the whole district)."""

    role: str = "public"
    org_id: int | None = None
    member_id: int | None = None
    username: str | None = None

    @property
    def audience(self) -> str:
        """The layer audience this role reads as (layers.base.AUDIENCES: the role's own)."""
        return audience_of(self.role)

    @property
    def is_admin(self) -> bool:
        """Only admins may ever receive member points."""
        return self.role == "admin"


PUBLIC = Principal()

# How the rows of each table hang on the organisation tree (tables absent here are public places
# and never scoped); layers say it of themselves (`Layer.rows`).
TABLES: dict[str, RowLink] = {
    "organisations": RowLink(org="id"),
    "service_points": RowLink(org="org_id", public="place"),
    "activities": RowLink(org="organiser_id", invited=ACTIVITY_INVITED),
    "members": RowLink(org="branch_id", self_id="id", public="never"),
    "checkins": RowLink(member="member_id", public="never"),
}

SUBTREE = "{col} IN (SELECT s.id FROM org_subtree({org}::bigint) AS s)"
MEMBERS_OF_SUBTREE = (
    "{col} IN (SELECT sm.id FROM members sm WHERE sm.branch_id IN "
    "(SELECT s.id FROM org_subtree({org}::bigint) AS s))"
)
# The member's branch and every organisation above it (the ones whose invitation reaches it).
CHAIN = (
    "(WITH RECURSIVE up(id, parent_id) AS ("
    " SELECT o.id, o.parent_id FROM organisations o"
    " WHERE o.id = (SELECT bm.branch_id FROM members bm WHERE bm.id = {member}::bigint)"
    " UNION SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id)"
    " SELECT up.id FROM up)"
)
BRANCH_CHAIN = "{col} IN {chain}"
# ... or one of the organisations the row invites is in it (RowLink.invited). The chain appears
# once (one placeholder for psycopg as for asyncpg) and, uncorrelated, is computed once.
# The organisations a row is open to: its own and the ones it invites (`open_to`).
OPEN_TO = "(ARRAY[{col}] || ARRAY(SELECT iv.org_id FROM {table} iv WHERE iv.{row} = {key}))"
INVITED_CHAIN = OPEN_TO + " && ARRAY{chain}"
# ... or that they registered for (or wait on): what a member is offered (`offered`).
OFFERED = (
    "({attendable} OR EXISTS (SELECT 1 FROM registrations r WHERE r.activity_id = {key}"
    " AND r.member_id = {member}::bigint AND r.status IN ('registered', 'waitlisted')))"
)
OWN_ROW = "{col} = {member}::bigint"
# On the partitioned layout (geo/db/partition) a bound caller's rows of a table partitioned by
# province also name the organisation's province, so the plan reads one partition.
IN_PROVINCE = (
    "({cond} AND {alias}.province_id ="
    " (SELECT po.province_id FROM organisations po WHERE po.id = {org}::bigint))"
)
ORG_KEY, MEMBER_KEY = "scope:org", "scope:member"


@dataclass(frozen=True)
class RowScope:
    """Rows seen at the caller's own audience (`cond`), and whether other rows stay public.

    `own` and `params` are `cond` compiled with `$N` placeholders from `start`, for callers that
    splice it into statements of their own."""

    cond: Fragment
    public_rest: bool = False
    start: int = 1

    @property
    def own(self) -> str:
        """The condition as text, placeholders numbered from `start`."""
        return self.cond.compile(self.start).text

    @property
    def params(self) -> tuple[object, ...]:
        """The condition's parameter values, in placeholder order."""
        return self.cond.params

    @property
    def unrestricted(self) -> bool:
        """True when the caller sees every row at its own audience."""
        return self.cond.is_text("TRUE")


def bound_org(principal: Principal) -> int | None:
    """Root of the subtree an org-bound role (leader, planner, steward) is limited to."""
    if principal.role in ("leader", "planner", "steward"):
        return principal.org_id
    return None


@lru_cache(maxsize=256)
def _shape(link: RowLink, alias: str, member: bool) -> Fragment:
    """The parenthesised condition of an org-bound role (`member` False) or of a member, with a
    slot for the organisation or member id: composed once per link and alias."""
    if member:
        column, template, key = link.self_id or link.member, OWN_ROW, MEMBER_KEY
        if column is None:
            column, template = link.org, INVITED_CHAIN if link.invited else BRANCH_CHAIN
    else:
        column, template, key = link.org, SUBTREE, ORG_KEY
        if column is None:
            column, template = link.member, MEMBERS_OF_SUBTREE
    slot = compose.param(key)
    table, row = link.invited or ("", "")
    cond = compose.sql(
        template,
        col=compose.raw(f"{alias}.{column}"),
        org=slot,
        member=slot,
        chain=compose.sql(CHAIN, member=slot),
        table=compose.ident(table),
        row=compose.ident(row),
        key=compose.raw(f"{alias}.id"),
    )
    return compose.sql("({cond})", cond=cond)


def _bound(link: RowLink, alias: str, member: bool, value: int) -> Fragment:
    """The condition with the caller's organisation or member id bound into its slot."""
    shape = _shape(link, alias, member)
    return Fragment(shape.parts, ((MEMBER_KEY if member else ORG_KEY, value),))


def link_of(layer: Layer | str) -> RowLink | None:
    """How a layer's (or a table's) rows hang on the organisation tree (None: they do not)."""
    return TABLES.get(layer) if isinstance(layer, str) else layer.rows


def row_scope(
    principal: Principal, layer: Layer | str, *, alias: str = "t", start: int = 1
) -> RowScope:
    """The caller's rows of a layer (or a table by name), over `alias`."""
    link = link_of(layer)
    if principal.is_admin or link is None:
        return RowScope(compose.TRUE, False, start)
    rest = link.public == "rest"
    if principal.role == "member":
        if link.public == "place":
            return RowScope(compose.TRUE, False, start)
        if principal.member_id is None:
            return RowScope(compose.FALSE, rest, start)
        return RowScope(_bound(link, alias, True, principal.member_id), rest, start)
    org = bound_org(principal)
    if org is not None:
        cond = _bound(link, alias, False, org)
        table = layer if isinstance(layer, str) else layer.table
        if table in layout.TABLES and layout.partitioned():
            slot = compose.param(ORG_KEY)
            cond = compose.sql(IN_PROVINCE, cond=cond, alias=compose.raw(alias), org=slot)
        return RowScope(cond, link.public == "place", start)
    if principal.role == "public" and link.public == "never":
        return RowScope(compose.FALSE, False, start)
    return RowScope(compose.TRUE, False, start)


def attendable(member_id: int, alias: str = "a") -> Fragment:
    """The one rule of who may attend an activity (register, check in, be offered it by
    /api/nearest): the member's branch or an organisation above it organises it or is invited to
    it (`activity_invitations`), i.e. the member's own rows of `activities`, over `alias`."""
    member = Principal(role="member", member_id=member_id)
    return row_scope(member, "activities", alias=alias).cond


def offered(member_id: int, alias: str = "a") -> Fragment:
    """The activities a member is offered (/api/nearest, /api/me/activities), over `alias`: the
    ones they may attend (`attendable`) and the ones they registered for or wait on. A
    registration for one they may not attend (made before registration applied the rule, or its
    invitation withdrawn since) keeps the activity listed, as not invited: not counted, no
    check-in (`attends`)."""
    return compose.sql(
        OFFERED,
        attendable=attendable(member_id, alias),
        key=compose.raw(f"{alias}.id"),
        member=compose.value(member_id, MEMBER_KEY),
    )


def attends(member: str, alias: str = "a") -> Fragment:
    """`attendable` row by row: the member whose id is in the column `member` (e.g.
    "r.member_id" of a registration) may attend the activity `alias`. The same templates, the
    chain read per row; for counts and lists of one activity's registrations."""
    link = TABLES["activities"]
    table, row = link.invited or ("", "")
    cond = compose.sql(
        INVITED_CHAIN,
        col=compose.raw(f"{alias}.{link.org}"),
        table=compose.ident(table),
        row=compose.ident(row),
        key=compose.raw(f"{alias}.id"),
        chain=compose.sql(CHAIN, member=compose.raw(member)),
    )
    return compose.sql("({cond})", cond=cond)


def open_to(alias: str = "a") -> Fragment:
    """The organisations the activity `alias` is open to, as an array: its organiser and the
    ones it invites, the left side of `attendable`. A member may attend when their branch or an
    organisation above it (`member_chain`) is one of them; the live stream checks its events
    this way (geo/live/viewers.py), with the chain read once per connection."""
    link = TABLES["activities"]
    table, row = link.invited or ("", "")
    return compose.sql(
        OPEN_TO,
        col=compose.raw(f"{alias}.{link.org}"),
        table=compose.ident(table),
        row=compose.ident(row),
        key=compose.raw(f"{alias}.id"),
    )


def member_chain(member_id: int) -> Fragment:
    """The statement listing the member's branch and every organisation above it (`attendable`'s
    right side; no rows when there is no such member)."""
    chain = compose.sql(CHAIN, member=compose.value(member_id, MEMBER_KEY))
    return compose.sql("SELECT c.id FROM {chain} AS c", chain=chain)


def visible_rows(scope: RowScope) -> Fragment:
    """Every row the caller may see at all (own rows, and the public rest when it stays)."""
    if scope.public_rest and not scope.unrestricted:
        return compose.TRUE
    return scope.cond


def scope_filter(
    principal: Principal, layer: Layer | str, *, alias: str = "t", start: int = 1
) -> tuple[str, list[object]]:
    """SQL condition (over `alias`, `$N` from `start`) of every row the caller may see at all.

    For a member this includes public rows outside their own: serve those with public fields
    only (see `row_scope` and `geo.features`), or use `row_scope(...).own` for the strict set.
    """
    cond = visible_rows(row_scope(principal, layer, alias=alias))
    return cond.compile(start).text, cond.args(start=start)


def scope_filter_psycopg(
    principal: Principal, layer: Layer | str, *, alias: str = "t"
) -> tuple[str, list[object]]:
    """The same condition with psycopg `%s` placeholders."""
    cond = visible_rows(row_scope(principal, layer, alias=alias))
    compiled = cond.compile_psycopg()
    return compiled.text, compiled.args(dict(cond.bound))


def masked(scope: RowScope, expr: Fragment, public_field: bool) -> Fragment:
    """A field's SQL for rows served under `scope`: NULL on rows the caller sees only as public
    (outside `scope.cond`) unless the field itself is public. For tiles and exports that serve
    `scope_filter` rows with the caller's audience fields."""
    if scope.unrestricted or not scope.public_rest or public_field:
        return expr
    return compose.sql("(CASE WHEN {own} THEN {expr} END)", own=scope.cond, expr=expr)
