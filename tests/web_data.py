"""A tiny district written straight into the test database, for page tests that need known rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

W, S, E, N = 120.140, 30.240, 120.170, 30.262
SP_KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")


def _box(x: float, y: float, dx: float, dy: float) -> str:
    return f"MULTIPOLYGON((({x} {y},{x + dx} {y},{x + dx} {y + dy},{x} {y + dy},{x} {y})))"


def load(url: str) -> dict[str, int]:
    """Write the district, a road grid, buildings, a 3-level tree, service points, activities."""
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=False) as conn:
        cur = conn.cursor()
        cur.execute(
            "INSERT INTO districts (code, name, level, geom) VALUES "
            "('T1', '测试区', 'district', ST_GeomFromText(%s, 4326))",
            (_box(W, S, E - W, N - S),),
        )
        roads = []
        for i in range(7):
            x = W + (E - W) * i / 6
            roads.append((f"RV{i}", f"南北路{i}", f"LINESTRING({x} {S},{x} {N})"))
            y = S + (N - S) * i / 6
            roads.append((f"RH{i}", f"东西路{i}", f"LINESTRING({W} {y},{E} {y})"))
        cur.executemany(
            "INSERT INTO roads (code, name, kind, geom) VALUES (%s, %s, 'street', ST_GeomFromText(%s, 4326))",
            roads,
        )
        bids = []
        for i in range(6):
            for j in range(6):
                x = W + 0.0015 + i * (E - W) / 6
                y = S + 0.0012 + j * (N - S) / 6
                cur.execute(
                    "INSERT INTO buildings (code, name, use, height_m, floors, geom) VALUES "
                    "(%s, %s, '住宅', %s, %s, ST_GeomFromText(%s, 4326)) RETURNING id",
                    (
                        f"B{i}{j}",
                        f"{i}号楼{j}",
                        12 + 9 * ((i + j) % 5),
                        4 + (i + j) % 5,
                        _box(x, y, 0.0018, 0.0012),
                    ),
                )
                bids.append(cur.fetchone()[0])  # type: ignore[index]
        org_ids = _orgs(cur, bids)
        sp_ids = _service_points(cur, org_ids)
        _activities(cur, org_ids, sp_ids, now)
        _members(cur, org_ids)
        _running_activity(cur, org_ids[0], sp_ids[0], now)
        conn.commit()
    return {"organisations": len(org_ids), "service_points": len(sp_ids)}


def _orgs(cur: psycopg.Cursor, bids: list[int]) -> list[int]:
    ids: list[int] = []
    cx, cy = (W + E) / 2, (S + N) / 2

    def add(
        code: str, name: str, typ: str, parent: int | None, x: float, y: float, b: int | None
    ) -> int:
        cur.execute(
            "INSERT INTO organisations (code, name, type, parent_id, building_id, geom) VALUES "
            "(%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            (code, name, typ, parent, b, x, y),
        )
        oid: int = cur.fetchone()[0]  # type: ignore[index]
        ids.append(oid)
        return oid

    root = add("O1", "测试街道党工委", "党委", None, cx, cy, bids[14])
    for g in range(2):
        gx = W + 0.006 + g * 0.016
        general = add(
            f"O1{g}", f"第{g + 1}社区党总支", "党总支", root, gx, cy + 0.004, bids[6 * (g * 3) + 2]
        )
        for k in range(3):
            add(
                f"O1{g}{k}",
                f"第{g + 1}社区第{k + 1}党支部",
                "党支部",
                general,
                gx + 0.003 * k,
                cy - 0.004,
                bids[6 * (g * 3 + 1) + k],
            )
    return ids


def _service_points(cur: psycopg.Cursor, org_ids: list[int]) -> list[int]:
    ids = []
    for i in range(8):
        x = W + 0.003 + (i % 4) * 0.0075
        y = S + 0.005 + (i // 4) * 0.011
        cur.execute(
            "INSERT INTO service_points (code, name, kind, org_id, address, opening_hours, capacity, "
            "phone, geom) VALUES (%s, %s, %s, %s, %s, '周一至周五 9:00-17:00', 60, '0571-8888000', "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            (
                f"SP{i}",
                f"测试{SP_KINDS[i % 4]}{i}",
                SP_KINDS[i % 4],
                org_ids[i % len(org_ids)],
                f"测试路{i + 1}号",
                x,
                y,
            ),
        )
        ids.append(cur.fetchone()[0])  # type: ignore[index]
    return ids


def _activities(cur: psycopg.Cursor, org_ids: list[int], sp_ids: list[int], now: datetime) -> None:
    for i in range(24):
        start = now + timedelta(days=i * 5 - 60, hours=1)
        sp = sp_ids[i % len(sp_ids)]
        cur.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, service_point_id, starts_at, "
            "ends_at, capacity, description, geom) SELECT %s, %s, %s, %s, s.id, %s, %s, 40, '测试活动', "
            "s.geom FROM service_points s WHERE s.id = %s",
            (
                f"A{i}",
                f"主题党日活动{i}",
                ("主题党日", "三会一课", "志愿服务")[i % 3],
                org_ids[i % len(org_ids)],
                start,
                start + timedelta(hours=2),
                sp,
            ),
        )


def _members(cur: psycopg.Cursor, org_ids: list[int]) -> None:
    """40 members of the first branch living close together (one heat cell of at least 10)."""
    branch = org_ids[2]
    rows = [
        (
            f"M{i:04d}",
            f"党员{i}",
            branch,
            W + 0.006 + (i % 8) * 0.0002,
            S + 0.006 + (i // 8) * 0.0002,
        )
        for i in range(1, 41)
    ]
    cur.executemany(
        "INSERT INTO members (external_id, name, branch_id, status, home) VALUES "
        "(%s, %s, %s, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        rows,
    )


def _running_activity(cur: psycopg.Cursor, organiser: int, sp: int, now: datetime) -> None:
    """An activity running now at the first service point, organised by the 党委 (all invited)."""
    cur.execute(
        "INSERT INTO activities (code, title, kind, organiser_id, service_point_id, starts_at, "
        "ends_at, capacity, description, geom) SELECT 'ANOW', '正在进行的主题党日', '主题党日', %s, "
        "s.id, %s, %s, 40, '测试签到', s.geom FROM service_points s WHERE s.id = %s",
        (organiser, now - timedelta(minutes=10), now + timedelta(hours=2), sp),
    )
