"""Nearest service point or activity: exact geodesic KNN (straight) or network cost (walk)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

import asyncpg

from geo import compose
from geo.analysis import routing
from geo.analysis.scoping import scope_condition
from geo.compose import Fragment
from geo.crs import wgs84_to_gcj02
from geo.errors import InvalidInput
from geo.scope import PUBLIC, Principal, offered
from geo.vocab import NearestTarget

TARGETS = tuple(NearestTarget)
MODES = ("straight", "walk")
MAX_K = 50
DEFAULT_WINDOW = timedelta(days=14)
MAX_CANDIDATES = 200

# Per target: the columns returned and the extra filter (identifiers are these constants only).
_COLUMNS = {
    NearestTarget.SERVICE_POINTS: "t.id, t.name, t.kind, t.opening_hours, t.address, "
    "NULL::timestamptz AS starts_at, NULL::timestamptz AS ends_at, t.id AS service_point_id",
    NearestTarget.ACTIVITIES: "t.id, t.title AS name, t.kind, NULL::text AS opening_hours, "
    "NULL::text AS address, t.starts_at, t.ends_at, t.service_point_id",
}
_KIND = "({kind}::text IS NULL OR t.kind = {kind})"
_WINDOW = "t.starts_at < {end} AND t.ends_at > {start}"
# Activities one may still go to: published (not cancelled) and not over.
_OPEN = "t.status = 'scheduled' AND t.ends_at > {now}"
# ... and, for a member, open to them (geo.scope.offered: they may attend it, the rule of
# registration and check-in, or they registered for it).
_POINT = "ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)"
_SLOTS = ("lon", "lat", "kind", "k", "start", "end")  # numbered first, in this order

# The floor for the benchmark: the bare index-ordered KNN, no re-ranking.
BARE_KNN_SQL = compose.sql_file(__file__, "nearest_bare_knn.sql")


@dataclass(frozen=True)
class NearestQuery:
    """What the caller asks for (validated by `validate`)."""

    lon: float
    lat: float
    target: str = NearestTarget.SERVICE_POINTS
    k: int = 5
    kind: str | None = None
    mode: str = "straight"
    start: datetime | None = None
    end: datetime | None = None
    speed_m_per_min: float = 80.0
    route: bool = False
    max_snap_m: float = routing.MAX_SNAP_M
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The activity time window (default: now to 14 days ahead)."""
        start = _aware(self.start or self.now)
        return start, _aware(self.end) if self.end else start + DEFAULT_WINDOW


def _aware(t: datetime) -> datetime:
    """Naive times are taken as UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def validate(q: NearestQuery) -> None:
    """Raise InvalidInput for anything out of range."""
    if not (math.isfinite(q.lat) and -90 <= q.lat <= 90):
        raise InvalidInput(f"lat must be within ±90, got {q.lat}")
    if not (math.isfinite(q.lon) and -180 <= q.lon <= 180):
        raise InvalidInput(f"lon must be within ±180, got {q.lon}")
    if q.target not in TARGETS:
        raise InvalidInput(f"unknown target {q.target!r}; use one of {', '.join(TARGETS)}")
    if q.mode not in MODES:
        raise InvalidInput(f"unknown mode {q.mode!r}; use straight or walk")
    if not 1 <= q.k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {q.k}")
    if not (math.isfinite(q.speed_m_per_min) and 10 <= q.speed_m_per_min <= 500):
        raise InvalidInput("speed must be between 10 and 500 m/min")
    start, end = q.window
    if q.target == NearestTarget.ACTIVITIES and end <= start:
        raise InvalidInput("the time window must end after it starts ('to' > 'from')")


@cache
def _straight_template() -> str:
    return compose.sql_file(__file__, "nearest_straight.sql")


def _straight_sql(q: NearestQuery, principal: Principal) -> Fragment:
    """The straight statement for the query's target and the caller's scope (slots by `_SLOTS`)."""
    slot = {k: compose.param(k) for k in _SLOTS}
    conds = [compose.sql(_KIND, kind=slot["kind"])]
    if q.target == NearestTarget.ACTIVITIES:
        conds.append(compose.sql(_WINDOW, start=slot["start"], end=slot["end"]))
        conds.append(compose.sql(_OPEN, now=compose.value(q.now, "now")))
        if principal.role == "member":
            conds.append(_attendable(principal))
    scope = scope_condition(principal, q.target, "t")
    if scope is not None:
        conds.append(scope)
    return compose.sql(
        _straight_template(),
        table=compose.raw(q.target),
        columns=compose.raw(_COLUMNS[NearestTarget(q.target)]),
        where=compose.join(" AND ", conds),
        pt=compose.sql(_POINT, lon=slot["lon"], lat=slot["lat"]),
        lat=slot["lat"],
        k=slot["k"],
    )


def _attendable(member: Principal) -> Fragment:
    """The activities a member may attend (none for an account with no member record)."""
    if member.member_id is None:
        return compose.FALSE
    return offered(member.member_id, "t")


async def straight_rows(
    conn: asyncpg.Connection, q: NearestQuery, k: int, principal: Principal = PUBLIC
) -> list[dict[str, Any]]:
    """The k nearest targets by spheroid distance, exactly as a brute-force ranking would order them."""
    start, end = q.window
    stmt = _straight_sql(q, principal)
    compiled = stmt.compile(order=_SLOTS)
    values = dict(stmt.bound) | {"lon": q.lon, "lat": q.lat, "kind": q.kind, "k": k}
    values |= {"start": start, "end": end}
    rows = await conn.fetch(compiled.text, *compiled.args(values))
    return [dict(r) for r in rows]


def links(lon: float, lat: float, name: str) -> dict[str, str]:
    """Hand-off links: Amap web navigation (GCJ-02, walking) and an RFC 5870 geo: URI (WGS84)."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    to = f"{float(glon):.6f},{float(glat):.6f},{quote(name, safe='')}"
    amap = (
        f"https://uri.amap.com/navigation?to={to}&mode=walk&coordinate=gaode&callnative=1&src=djmap"
    )
    return {"amap": amap, "geo": f"geo:{lat:.6f},{lon:.6f}"}


def _result(row: dict[str, Any], q: NearestQuery) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "lon": row["lon"],
        "lat": row["lat"],
        "distance_m": round(float(row["distance_m"]), 2),
        "straight_m": round(float(row.get("straight_m", row["distance_m"])), 2),
        "walk_minutes": round(float(row["distance_m"]) / q.speed_m_per_min, 1),
        "links": links(row["lon"], row["lat"], row["name"]),
    }
    if q.target == NearestTarget.SERVICE_POINTS:
        out["opening_hours"] = row["opening_hours"]
        out["address"] = row["address"]
    else:
        out["starts_at"] = row["starts_at"].isoformat()
        out["ends_at"] = row["ends_at"].isoformat()
        out["service_point_id"] = row["service_point_id"]
    if "route" in row:
        out["route"] = row["route"]
    return out


def _envelope(q: NearestQuery, mode: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "target": q.target,
        "mode": mode,
        "origin": {"lon": q.lon, "lat": q.lat},
        "k": q.k,
        "speed_m_per_min": q.speed_m_per_min,
        "results": [_result(r, q) for r in results],
    }
    if q.target == NearestTarget.ACTIVITIES:
        start, end = q.window
        body["window"] = {"from": start.isoformat(), "to": end.isoformat()}
    return body


async def nearest(
    conn: asyncpg.Connection, q: NearestQuery, principal: Principal = PUBLIC
) -> dict[str, Any]:
    """Answer a nearest query: results ordered by distance, with links (and a note when degraded)."""
    validate(q)
    if q.mode == "straight":
        return _envelope(q, "straight", await straight_rows(conn, q, q.k, principal))
    walked, note = await _walk(conn, q, principal)
    if walked is None:
        body = _envelope(q, "straight", await straight_rows(conn, q, q.k, principal))
        body["note"] = note
        return body
    body = _envelope(q, "walk", walked)
    if note:
        body["note"] = note
    return body


async def _walk(
    conn: asyncpg.Connection, q: NearestQuery, principal: Principal
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """Re-rank KNN candidates by network cost, widening the candidate set until the ranking is exact."""
    origin = (await routing.snap(conn, [(q.lon, q.lat)]))[0]
    if origin is None or origin.snap_m > q.max_snap_m:
        where = "no walkable road network" if origin is None else f"{origin.snap_m:.0f} m"
        return None, (
            f"the point is outside the walking network's reach ({where} from the nearest road, "
            f"limit {q.max_snap_m:.0f} m); answered in straight mode"
        )
    n = max(3 * q.k, q.k + 10)
    while True:
        cands = await straight_rows(conn, q, n, principal)
        ranked = await routing.rank_by_walk(conn, origin, cands)
        exhausted = len(cands) < n or n >= MAX_CANDIDATES
        # Walking is never shorter than the straight line, so once the k-th walk distance is within
        # the farthest straight candidate, no unseen candidate can enter the top k.
        if exhausted or (
            len(ranked) >= q.k and ranked[q.k - 1]["distance_m"] <= cands[-1]["distance_m"]
        ):
            break
        n = min(2 * n, MAX_CANDIDATES)
    top = ranked[: q.k]
    if not top:
        return None, "no candidate is reachable on the walking network; answered in straight mode"
    if q.route:
        await routing.attach_routes(conn, origin, top)
    note = None
    if len(top) < min(q.k, len(cands)):
        note = f"{len(cands) - len(ranked)} candidate(s) are not reachable on the walking network"
    return top, note
