"""Imports are scoped: a caller bound to an organisation writes only rows of that subtree.

The subtree is `org_subtree(root)` (geo/scope.py's rule for reads). A bound caller's row is in
scope when, after the import, it still hangs on the subtree and, when it exists already, it hangs
there now (so nothing can be pulled in from another subtree):

- organisations: the row's parent chain (the file's parents over the database's) reaches the
  root; the root itself may be updated but not moved;
- members by branch, service points by organisation, activities by organiser, panoramas by their
  service point's organisation, meetings, committee elections and dues by their organisation.

Buildings, roads and districts belong to no organisation: only an unbound caller imports them.
Out-of-scope rows are errors with their row numbers, and they reject the whole file even with
skip_invalid (a permission problem is not a data-quality one: nothing is written).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg

from geo.compose import Fragment, ident, param, sql
from geo.errors import Forbidden
from geo.ingest.spec import Spec
from geo.ingest.validate import Prepared

CODE = "out_of_scope"
SUBTREE = sql("SELECT s.id FROM org_subtree({root}) AS s", root=param("root"))
SUBTREE_CODES = sql("SELECT o.code FROM organisations o WHERE o.id IN ({s})", s=SUBTREE)
SUBTREE_SERVICE_POINTS = sql(
    "SELECT sp.code FROM service_points sp WHERE sp.org_id IN ({s})", s=SUBTREE
)
ROOT_SQL = (
    "SELECT o.code, p.code FROM organisations o "
    "LEFT JOIN organisations p ON p.id = o.parent_id WHERE o.id = %(root)s"
)
ORG_PARENTS_SQL = (
    "SELECT o.code, p.code FROM organisations o LEFT JOIN organisations p ON p.id = o.parent_id"
)
# table -> (the file column naming the owner, existing keys owned outside the subtree)
LINKS: dict[str, tuple[str, Fragment]] = {
    "members": (
        "branch_code",
        sql(
            "SELECT t.external_id FROM members t WHERE t.external_id = ANY({keys})"
            " AND t.branch_id NOT IN ({s})",
            keys=param("keys"),
            s=SUBTREE,
        ),
    ),
    "service_points": (
        "org_code",
        sql(
            "SELECT t.code FROM service_points t WHERE t.code = ANY({keys})"
            " AND (t.org_id IS NULL OR t.org_id NOT IN ({s}))",
            keys=param("keys"),
            s=SUBTREE,
        ),
    ),
    "activities": (
        "organiser_code",
        sql(
            "SELECT t.code FROM activities t WHERE t.code = ANY({keys})"
            " AND t.organiser_id NOT IN ({s})",
            keys=param("keys"),
            s=SUBTREE,
        ),
    ),
    "panoramas": (
        "service_point_code",
        sql(
            "SELECT t.code FROM panoramas t LEFT JOIN service_points sp"
            " ON sp.id = t.service_point_id WHERE t.code = ANY({keys})"
            " AND (sp.org_id IS NULL OR sp.org_id NOT IN ({s}))",
            keys=param("keys"),
            s=SUBTREE,
        ),
    ),
}
for _table in ("meetings", "committee_terms", "dues_months"):  # organisation life (issue 13)
    LINKS[_table] = (
        "org_code",
        sql(
            "SELECT t.code FROM {table} t WHERE t.code = ANY({keys}) AND t.org_id NOT IN ({s})",
            table=ident(_table),
            keys=param("keys"),
            s=SUBTREE,
        ),
    )
LINKS["grids"] = (  # 党建网格 by their branch (issue 14)
    "branch_code",
    sql(
        "SELECT t.code FROM grids t WHERE t.code = ANY({keys})"
        " AND (t.org_id IS NULL OR t.org_id NOT IN ({s}))",
        keys=param("keys"),
        s=SUBTREE,
    ),
)
SCOPED_TABLES = ("organisations", *LINKS)
SINGULAR = {
    "organisations": "organisation",
    "members": "member",
    "service_points": "service point",
    "activities": "activity",
    "panoramas": "panorama",
    "meetings": "meeting",
    "committee_terms": "committee election",
    "dues_months": "month of dues",
    "grids": "grid",
}


def check_kind(spec: Spec, root: int | None) -> None:
    """Forbidden when a bound caller imports a kind that belongs to no organisation."""
    if root is not None and spec.table not in SCOPED_TABLES:
        raise Forbidden(
            f"{spec.kind} belong to no organisation: only an admin (or a steward bound to no "
            "organisation) may import them; you may import organisations, members, "
            "service-points, activities, panoramas, meetings, terms, dues and grids of your subtree"
        )


def _codes(conn: psycopg.Connection, query: Fragment, params: Mapping[str, object]) -> set[str]:
    compiled = query.compile_psycopg()
    return {str(r[0]) for r in conn.execute(compiled.text, compiled.args(params))}  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _reaches(code: str, parents: dict[str, str | None], root: str) -> bool:
    """True when an ancestor of `code` (under `parents`) is `root`."""
    seen = {code}
    cur = parents.get(code)
    while cur is not None and cur not in seen:
        if cur == root:
            return True
        seen.add(cur)
        cur = parents.get(cur)
    return False


def _organisations(conn: psycopg.Connection, frame: pd.DataFrame, root: int) -> npt.NDArray:
    """Rows placing or changing an organisation outside the subtree."""
    params = {"root": root}
    found = conn.execute(ROOT_SQL, params).fetchone()  # type: ignore[arg-type]
    codes = [_text(c) for c in frame["code"].tolist()]
    parents_in_file = [_text(c) for c in frame["parent_code"].tolist()]
    if found is None:
        return np.ones(len(codes), dtype=bool)
    root_code, root_parent = found
    inside = _codes(conn, SUBTREE_CODES, params)
    db_parents: dict[str, str | None] = dict(conn.execute(ORG_PARENTS_SQL).fetchall())
    in_file: dict[str, str | None] = {}
    for code, parent in zip(codes, parents_in_file, strict=True):
        if code is not None:
            in_file.setdefault(code, parent)  # a repeated code is a duplicate_id error anyway
    parents = {**db_parents, **in_file}
    out = np.zeros(len(codes), dtype=bool)
    for i, (code, parent) in enumerate(zip(codes, parents_in_file, strict=True)):
        if code is None:
            continue
        if code == root_code:
            out[i] = parent != root_parent
        else:
            stolen = code in db_parents and code not in inside
            out[i] = stolen or not _reaches(code, parents, root_code)
    return out


def _linked(conn: psycopg.Connection, spec: Spec, frame: pd.DataFrame, root: int) -> npt.NDArray:
    """Rows whose owner is outside the subtree, now or after the import."""
    column, owned_elsewhere = LINKS[spec.table]
    params: dict[str, object] = {"root": root}
    allowed = _codes(
        conn, SUBTREE_SERVICE_POINTS if spec.table == "panoramas" else SUBTREE_CODES, params
    )
    keys = frame[spec.key]
    params["keys"] = [k for k in keys.tolist() if isinstance(k, str)]
    taken = _codes(conn, owned_elsewhere, params)
    owner = frame[column]
    return (~owner.isin(allowed) | keys.isin(taken)).to_numpy(dtype=bool)


def check_scope(conn: psycopg.Connection, spec: Spec, prepared: Prepared, root: int) -> None:
    """Mark every row outside the subtree of organisation `root` as an out_of_scope error."""
    frame = prepared.frame
    if spec.table == "organisations":
        outside = _organisations(conn, frame, root)
    else:
        outside = _linked(conn, spec, frame, root)
    prepared.problems.error(
        outside,
        CODE,
        f"this {SINGULAR[spec.table]} is outside your organisation's subtree "
        "(or would move out of it): only an admin may write it",
        prepared.mapping.get(spec.key),
        frame[spec.key],
    )
