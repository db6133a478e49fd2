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
  their own check-ins, and their branch's organisations and activities (the branch and the
  organisations above it, which invite it). Rows outside that stay visible only when the layer is
  public, and then only with public fields (`RowScope.public_rest`).
- member home points never leave the server below admin: the members layer is no collection and
  `scope_filter` gives only a member their own row, never anyone else's below the subtree rule.

`scope_filter(principal, layer)` gives the SQL condition over alias `t` with `$N` parameters;
`row_scope` adds whether rows outside it remain visible with public fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ROLES = ("public", "member", "leader", "planner", "steward", "admin")
# What each role may see of the map layers (the catalog lists fields per audience).
AUDIENCE_OF_ROLE = {
    "public": "public",
    "member": "member",
    "leader": "leader",
    "planner": "planner",
    "steward": "leader",
    "admin": "admin",
}


@dataclass(frozen=True)
class Principal:
    """The caller: a role scoped to an organisation subtree (None = the whole district)."""

    role: str = "public"
    org_id: int | None = None
    member_id: int | None = None
    username: str | None = None

    @property
    def audience(self) -> str:
        """The layer audience this role reads as."""
        return AUDIENCE_OF_ROLE.get(self.role, "public")

    @property
    def is_admin(self) -> bool:
        """Only admins may ever receive member points."""
        return self.role == "admin"


PUBLIC = Principal()


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


# How the rows of each layer (catalog id) or table hang on the organisation tree: the SQL
# expression over the alias naming the organisation a row belongs to, or "member:<expr>" for rows
# that belong to a member. Keys absent here are public places and are never scoped.
ORG_LINK: dict[str, str] = {
    "organisations": "{a}.id",
    "service_points": "{a}.org_id",
    "activities": "{a}.organiser_id",
    "members": "{a}.branch_id",
    "member_heat": "{a}.branch_id",
    "checkins": "member:{a}.member_id",
    "activity_heat": "member:{a}.member_id",
}
# Layers whose rows are members themselves (a member sees only their own).
SELF_ROWS = {"members": "{a}.id", "member_heat": "{a}.id"}
PUBLIC_LAYERS_NEVER = frozenset({"members", "member_heat", "checkins"})
# Public places: an org-bound role sees all of them, other subtrees' with public fields only.
PUBLIC_PLACES = frozenset({"service_points"})

SUBTREE = "SELECT s.id FROM org_subtree(${n}::bigint) AS s"
MEMBERS_OF_SUBTREE = "SELECT sm.id FROM members sm WHERE sm.branch_id IN (SELECT s.id FROM org_subtree(${n}::bigint) AS s)"
# The member's branch and every organisation above it (the ones that invite the branch).
BRANCH_CHAIN = (
    "WITH RECURSIVE up(id, parent_id) AS ("
    " SELECT o.id, o.parent_id FROM organisations o"
    " WHERE o.id = (SELECT bm.branch_id FROM members bm WHERE bm.id = ${n}::bigint)"
    " UNION SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id)"
    " SELECT up.id FROM up"
)


@dataclass(frozen=True)
class RowScope:
    """Rows seen at the caller's own audience (`own`), and whether other rows stay public."""

    own: str
    params: tuple[object, ...]
    public_rest: bool

    @property
    def unrestricted(self) -> bool:
        """True when the caller sees every row at its own audience."""
        return self.own == "TRUE"


def _key(layer: _HasId | str) -> str:
    return layer if isinstance(layer, str) else layer.id


def bound_org(principal: Principal) -> int | None:
    """Root of the subtree an org-bound role (leader, planner, steward) is limited to."""
    if principal.role in ("leader", "planner", "steward"):
        return principal.org_id
    return None


def _org_bound(link: str, alias: str, n: int) -> str:
    if link.startswith("member:"):
        return f"{link[7:].format(a=alias)} IN ({MEMBERS_OF_SUBTREE.format(n=n)})"
    return f"{link.format(a=alias)} IN ({SUBTREE.format(n=n)})"


def _member_own(key: str, link: str, alias: str, n: int) -> str:
    if key in SELF_ROWS:
        return f"{SELF_ROWS[key].format(a=alias)} = ${n}::bigint"
    if link.startswith("member:"):
        return f"{link[7:].format(a=alias)} = ${n}::bigint"
    return f"{link.format(a=alias)} IN ({BRANCH_CHAIN.format(n=n)})"


def row_scope(
    principal: Principal, layer: _HasId | str, *, alias: str = "t", start: int = 1
) -> RowScope:
    """The caller's rows of a layer (catalog Layer, layer id or table name), params from $start."""
    key = _key(layer)
    link = ORG_LINK.get(key)
    if principal.is_admin or link is None:
        return RowScope("TRUE", (), False)
    if principal.role == "member":
        if key in PUBLIC_PLACES:
            return RowScope("TRUE", (), False)
        if principal.member_id is None:
            return RowScope("FALSE", (), key not in PUBLIC_LAYERS_NEVER)
        own = _member_own(key, link, alias, start)
        return RowScope(f"({own})", (principal.member_id,), key not in PUBLIC_LAYERS_NEVER)
    org = bound_org(principal)
    if org is not None:
        return RowScope(f"({_org_bound(link, alias, start)})", (org,), key in PUBLIC_PLACES)
    if principal.role == "public" and key in PUBLIC_LAYERS_NEVER:
        return RowScope("FALSE", (), False)
    return RowScope("TRUE", (), False)


def scope_filter(
    principal: Principal, layer: _HasId | str, *, alias: str = "t", start: int = 1
) -> tuple[str, list[object]]:
    """SQL condition (over `alias`, `$N` from `start`) of every row the caller may see at all.

    For a member this includes public rows outside their own: serve those with public fields
    only (see `row_scope` and `geo.features`), or use `row_scope(...).own` for the strict set.
    """
    scope = row_scope(principal, layer, alias=alias, start=start)
    if scope.public_rest and not scope.unrestricted:
        return "TRUE", []
    return scope.own, list(scope.params)


def scope_filter_psycopg(
    principal: Principal, layer: _HasId | str, *, alias: str = "t"
) -> tuple[str, list[object]]:
    """The same condition with psycopg `%s` placeholders (one parameter at most)."""
    sql, params = scope_filter(principal, layer, alias=alias, start=1)
    return sql.replace("$1", "%s"), params


def masked(scope: RowScope, expr: str, public_field: bool) -> str:
    """A field's SQL for rows served under `scope`: NULL on rows the caller sees only as public
    (outside `scope.own`) unless the field itself is public. For tiles and exports that serve
    `scope_filter` rows with the caller's audience fields."""
    if scope.unrestricted or not scope.public_rest or public_field:
        return expr
    return f"(CASE WHEN {scope.own} THEN {expr} END)"
