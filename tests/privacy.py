"""Reusable privacy checks and a two-subtree data set for scoping tests.

`assert_no_member_points(body, member_points)`: fails when a response body carries a member's home
coordinates (both numbers, to 5 decimals, anywhere in the body). `two_subtrees(url)` inserts two
organisation trees A and B (党委 → 党总支 → 党支部) with members, service points, activities and
check-ins, and returns their ids and the member home points.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

NUMBER = re.compile(r"-?\d+\.\d+")


def _numbers(body: Any) -> set[str]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str):
        body = json.dumps(body)
    return {f"{float(n):.5f}" for n in NUMBER.findall(body)}


def assert_no_member_points(body: Any, member_points: Iterable[tuple[float, float]]) -> None:
    """Fail when both coordinates of any member home appear in `body` (text, bytes or JSON)."""
    found = _numbers(body)
    for lon, lat in member_points:
        assert not (f"{lon:.5f}" in found and f"{lat:.5f}" in found), (
            f"member home ({lon}, {lat}) appears in a response body"
        )


def _pairs(node: Any) -> Iterator[tuple[float, float]]:
    """Every [x, y] pair and {lon, lat} object anywhere in a JSON document."""
    if isinstance(node, dict):
        if isinstance(node.get("lon"), float) and isinstance(node.get("lat"), float):
            yield node["lon"], node["lat"]
        for v in node.values():
            yield from _pairs(v)
    elif isinstance(node, list):
        if len(node) == 2 and all(isinstance(v, float) for v in node):
            yield node[0], node[1]
        else:
            for v in node:
                yield from _pairs(v)


def member_points_in(body: Any, lon: Any, lat: Any, tol_deg: float = 2e-6) -> list[Any]:
    """Coordinate pairs of a JSON body that sit on a member's home (within `tol_deg`). For large
    bodies (coverage: thousands of numbers) where `assert_no_member_points`, which matches single
    numbers, would find chance matches."""
    import numpy as np
    from scipy.spatial import cKDTree

    pairs = list(_pairs(body))
    if not pairs:
        return []
    d, _ = cKDTree(np.column_stack([lon, lat])).query(np.array(pairs), k=1)
    return [p for p, dist in zip(pairs, d, strict=True) if dist < tol_deg]


def _org(
    cur: psycopg.Cursor, code: str, type_: str, parent: int | None, lon: float, lat: float
) -> int:
    row = cur.execute(
        "INSERT INTO organisations (code, name, type, parent_id, contact, founded, geom) "
        "VALUES (%s, %s, %s, %s, %s, '2001-07-01', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "RETURNING id",
        (code, f"{code} 名称", type_, parent, f"contact-{code}", lon, lat),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _tree(cur: psycopg.Cursor, name: str, lon: float, lat: float, now: datetime) -> dict[str, Any]:
    committee = _org(cur, f"{name}-W", "党委", None, lon, lat)
    general = _org(cur, f"{name}-Z", "党总支", committee, lon + 0.002, lat + 0.002)
    branch = _org(cur, f"{name}-B", "党支部", general, lon + 0.004, lat + 0.004)
    members, homes = [], []
    for i in range(12):
        home = (round(lon + 0.0101 + i * 0.00037, 6), round(lat + 0.0103 + i * 0.00041, 6))
        row = cur.execute(
            "INSERT INTO members (external_id, name, branch_id, status, joined, home) "
            "VALUES (%s, %s, %s, '正式', '2010-01-01', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
            "RETURNING id",
            (f"{name}-M{i}", f"党员{name}{i}", branch, *home),
        ).fetchone()
        assert row is not None
        members.append(int(row[0]))
        homes.append(home)
    row = cur.execute(
        "INSERT INTO service_points (code, name, kind, org_id, address, phone, capacity, geom) "
        "VALUES (%s, %s, '党群服务中心', %s, 'addr', 'phone-secret', 80, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
        (f"{name}-SP", f"{name} 服务中心", committee, lon + 0.001, lat + 0.001),
    ).fetchone()
    assert row is not None
    sp = int(row[0])
    activities = []
    for i, org in enumerate((committee, general, branch)):
        start = now + timedelta(days=i * 3 - 2)
        row = cur.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, service_point_id, starts_at, "
            "ends_at, capacity, description, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, 30, %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            (
                f"{name}-A{i}",
                f"{name} 活动 {i}",
                ("三会一课", "主题党日", "学习")[i],
                org,
                sp,
                start,
                start + timedelta(hours=2),
                f"secret description {name}{i}",
                lon + 0.003 * i,
                lat + 0.001,
            ),
        ).fetchone()
        assert row is not None
        activities.append(int(row[0]))
    cur.execute(
        "INSERT INTO checkins (activity_id, member_id, distance_m) VALUES (%s, %s, 12.5)",
        (activities[0], members[0]),
    )
    return {
        "committee": committee,
        "general": general,
        "branch": branch,
        "orgs": [committee, general, branch],
        "members": members,
        "homes": homes,
        "service_point": sp,
        "activities": activities,
        "member_external_ids": [f"{name}-M{i}" for i in range(12)],
    }


def two_subtrees(url: str) -> dict[str, dict[str, Any]]:
    """Insert organisation trees A (around 116.30, 39.90) and B (around 116.50, 39.95)."""
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        return {"A": _tree(cur, "A", 116.30, 39.90, now), "B": _tree(cur, "B", 116.50, 39.95, now)}


def all_homes(data: dict[str, dict[str, Any]]) -> list[tuple[float, float]]:
    """Every member home point of a `two_subtrees` data set."""
    return [h for tree in data.values() for h in tree["homes"]]


PASSWORD = "correct-horse-battery"


def add_users(url: str) -> dict[str, str]:
    """Users over a `two_subtrees` data set: leaders of A and B, a planner of B's general branch,
    a steward, an admin and member A-M0; returns username → role. Password: PASSWORD."""
    from geo.users import add_user

    users = {
        "leader_a": ("leader", "A-W", None),
        "leader_b": ("leader", "B-W", None),
        "planner_b": ("planner", "B-Z", None),
        "steward_a": ("steward", "A-W", None),
        "admin": ("admin", None, None),
        "member_a": ("member", None, "A-M0"),
        "member_b": ("member", None, "B-M0"),
    }
    for name, (role, org, member) in users.items():
        add_user(url, name, PASSWORD, role, org, member)
    return {name: spec[0] for name, spec in users.items()}


def bearer(client: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization header for a user, logging in through POST /api/auth/token."""
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def round10(n: float) -> int:
    """A member figure as coverage publishes it: the nearest multiple of 10 (halves up)."""
    return int(10 * ((n + 5) // 10))


def atoms_of(lon: Any, lat: Any) -> tuple[dict[str, int], set[str]]:
    """The heat rule's atoms of the members (cell → size: the published res-10 cells and every
    remainder) and the tree's published cells, from geo.privacy.tree.publish (the heat)."""
    from geo.privacy.tree import RES_MAX, publish

    items = publish(list(zip(list(map(float, lon)), list(map(float, lat)), strict=True)))
    sizes = {i.cell: i.count for i in items if i.merged}
    sizes |= {i.cell: i.count for i in items if not i.merged and i.res == RES_MAX}
    return sizes, {i.cell for i in items if not i.merged}


def atoms_in(lon: Any, lat: Any, bbox: Any | None) -> list[tuple[str, int, float, float]]:
    """(cell, size, centre lon, centre lat) of the members' atoms whose cell centre lies in
    `bbox` (all without one): where coverage puts the atoms when there are no buildings."""
    import h3

    sizes, _ = atoms_of(lon, lat)
    out = []
    for cell in sorted(sizes):
        c_lat, c_lon = h3.cell_to_latlng(cell)
        if bbox is None or (bbox[0] <= c_lon <= bbox[2] and bbox[1] <= c_lat <= bbox[3]):
            out.append((cell, sizes[cell], c_lon, c_lat))
    return out


def member_places(lon: Any, lat: Any, b_lon: Any, b_lat: Any, b_weight: Any) -> Any:
    """Reference of the member demand coverage uses for these members (geo/privacy/atoms.spread):
    their atoms (`atoms_of`) spread over the buildings (`spread_atoms`)."""
    sizes, published = atoms_of(lon, lat)
    return spread_atoms(sizes, published, b_lon, b_lat, b_weight)


def spread_atoms(sizes: dict[str, int], published: set[str], b_lon: Any, b_lat: Any,
                 b_weight: Any) -> Any:  # fmt: skip
    """Each atom's size shared over the buildings whose deepest published cell is the atom's cell,
    by their weight (equal shares when they weigh nothing), or at the cell's centre without a
    building. Returns arrays lon, lat, members."""
    from collections import defaultdict

    import h3
    import numpy as np

    b_lon, b_lat, b_weight = (np.asarray(v, dtype=float) for v in (b_lon, b_lat, b_weight))
    mine: dict[str, list[int]] = defaultdict(list)
    for k, (x, y) in enumerate(zip(b_lon, b_lat, strict=True)):
        cell = h3.latlng_to_cell(y, x, 10)
        up = [cell] + [h3.cell_to_parent(cell, r) for r in range(9, -1, -1)]
        deepest = next((c for c in up if c in published), None)
        if deepest in sizes:
            mine[deepest].append(k)
    out: list[tuple[float, float, float]] = []
    for atom, n in sizes.items():
        ks = mine.get(atom)
        if not ks:
            c_lat, c_lon = h3.cell_to_latlng(atom)
            out.append((c_lon, c_lat, float(n)))
            continue
        w = b_weight[ks]
        share = w / w.sum() if w.sum() > 0 else np.full(len(ks), 1 / len(ks))
        out.extend((b_lon[k], b_lat[k], n * f) for k, f in zip(ks, share, strict=True))
    return tuple(np.array(col, dtype=float) for col in zip(*out, strict=True))


def api_client(url: str, key: str) -> Iterator[Any]:
    """A TestClient of the app on `url` signing tokens with `key`, its lifespan running."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings, Settings
    from geo.settings import DatabaseSettings

    settings = Settings(db=DatabaseSettings(database_url=url), api=ApiSettings(secret_key=key))
    with TestClient(create_app(settings)) as c:
        yield c
