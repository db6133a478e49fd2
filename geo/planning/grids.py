"""党建网格 (issue 14 §4): the checks a steward runs after an import or a drawing.

Every grid has a branch (支部), and grids do not overlap beyond a tolerance. Problems are
reported (the grids without a branch, the overlapping pairs with their area), never fixed here:
which grid keeps a disputed strip is the community's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import psycopg

from geo import compose
from geo.errors import InvalidInput

OVERLAP_TOLERANCE_M2 = 10.0  # digitising slivers along shared edges are not overlaps
MAX_TOLERANCE_M2 = 1_000_000.0
NO_BRANCH_SQL = (
    "SELECT g.code, g.name FROM grids g LEFT JOIN organisations o ON o.id = g.org_id "
    "WHERE o.id IS NULL ORDER BY g.code"
)
COUNT_SQL = "SELECT count(*) FROM grids"


@dataclass(frozen=True)
class Overlap:
    """Two grids whose interiors overlap, and by how much (m², geodesic)."""

    a: str
    b: str
    area_m2: float


@dataclass
class GridCheck:
    """The result of a check: passed when no grid lacks a branch and none overlap."""

    grids: int
    tolerance_m2: float
    without_branch: list[dict[str, str]] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.without_branch and not self.overlaps

    def as_dict(self) -> dict[str, object]:
        """The check as JSON-ready data."""
        return {
            "ok": self.ok,
            "grids": self.grids,
            "tolerance_m2": self.tolerance_m2,
            "without_branch": self.without_branch,
            "overlaps": [
                {"a": o.a, "b": o.b, "area_m2": round(o.area_m2, 1)} for o in self.overlaps
            ],
        }


@cache
def _overlaps_sql() -> compose.Compiled:
    stmt = compose.sql(
        compose.sql_file(__file__, "grids_overlaps.sql"), tolerance=compose.param("tolerance")
    )
    return stmt.compile_psycopg()


def check(conn: psycopg.Connection, tolerance_m2: float = OVERLAP_TOLERANCE_M2) -> GridCheck:
    """Grids without a branch and pairs overlapping by more than `tolerance_m2`."""
    if not 0 <= tolerance_m2 <= MAX_TOLERANCE_M2:
        raise InvalidInput(f"tolerance must be between 0 and {MAX_TOLERANCE_M2:,.0f} m²")
    row = conn.execute(COUNT_SQL).fetchone()
    out = GridCheck(int(row[0]) if row else 0, tolerance_m2)
    out.without_branch = [
        {"code": str(c), "name": str(n)} for c, n in conn.execute(NO_BRANCH_SQL).fetchall()
    ]
    compiled = _overlaps_sql()
    args = compiled.args({"tolerance": tolerance_m2})
    rows = conn.execute(compiled.text, args).fetchall()  # type: ignore[arg-type]
    out.overlaps = [Overlap(str(a), str(b), float(m2)) for a, b, m2 in rows]
    return out
