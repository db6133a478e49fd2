"""GET /api/nearest, straight mode: equals a brute-force geodesic ranking (pyproj) on random points."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from api.app import create_app
from api.settings import Settings
from geo.crs import gcj02_to_wgs84
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    app = create_app(Settings(db=DatabaseSettings(database_url=clean_db)))
    with TestClient(app) as c:
        yield c


def _seed_points(url: str, n: int, seed: int, box: tuple[float, float, float, float]) -> np.ndarray:
    """n service points uniformly in box (lon0, lat0, lon1, lat1); returns [[lon, lat, kind_i]]."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(box[0], box[2], n)
    lat = rng.uniform(box[1], box[3], n)
    kind = rng.integers(0, len(KINDS), n)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO service_points (code, name, kind, opening_hours, geom) "
            "VALUES (%s, %s, %s, 'Mo-Fr 09:00-17:00', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            [(f"sp{i}", f"服务点{i}", KINDS[kind[i]], lon[i], lat[i]) for i in range(n)],
        )
    return np.column_stack([lon, lat, kind])


def _brute(points: np.ndarray, lon: float, lat: float, k: int, kind: int | None = None):
    """(ids, metres) of the k nearest by WGS84 geodesic distance; ids are 1-based insert order."""
    idx = np.arange(len(points)) if kind is None else np.flatnonzero(points[:, 2] == kind)
    _, _, dist = GEOD.inv(
        np.full(len(idx), lon), np.full(len(idx), lat), points[idx, 0], points[idx, 1]
    )
    order = np.lexsort((idx, dist))[:k]
    return [int(idx[i]) + 1 for i in order], [float(dist[i]) for i in order]


@pytest.mark.parametrize(
    "box",
    [(116.2, 39.8, 116.6, 40.1), (10.0, 58.0, 40.0, 70.0)],  # Beijing; a high-latitude stretch
)
def test_straight_equals_brute_force(client: TestClient, clean_db: str, box) -> None:
    points = _seed_points(clean_db, 600, seed=7, box=box)
    rng = np.random.default_rng(11)
    for _ in range(25):
        lon = float(rng.uniform(box[0] - 0.1, box[2] + 0.1))
        lat = float(rng.uniform(box[1] - 0.1, box[3] + 0.1))
        k = int(rng.integers(1, 51))
        r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "k": k})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        ids, dist = _brute(points, lon, lat, k)
        assert [x["id"] for x in results] == ids
        assert np.allclose([x["distance_m"] for x in results], dist, atol=0.01)
        assert [x["distance_m"] for x in results] == sorted(x["distance_m"] for x in results)


def test_kind_filter_and_result_fields(client: TestClient, clean_db: str) -> None:
    points = _seed_points(clean_db, 300, seed=3, box=(116.3, 39.85, 116.5, 39.95))
    lon, lat = 116.41, 39.90
    r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "k": 7, "kind": KINDS[1]})
    body = r.json()
    ids, _ = _brute(points, lon, lat, 7, kind=1)
    assert [x["id"] for x in body["results"]] == ids
    first = body["results"][0]
    assert first["kind"] == KINDS[1]
    assert first["opening_hours"] == "Mo-Fr 09:00-17:00"
    assert first["walk_minutes"] == pytest.approx(first["distance_m"] / 80.0, abs=0.05)
    r2 = client.get(
        "/api/nearest", params={"lon": lon, "lat": lat, "k": 7, "kind": KINDS[1], "speed": 60}
    )
    assert r2.json()["results"][0]["walk_minutes"] == pytest.approx(
        first["distance_m"] / 60, abs=0.05
    )


def test_links_use_gcj02_for_amap_and_wgs84_for_geo(client: TestClient, clean_db: str) -> None:
    _seed_points(clean_db, 5, seed=1, box=(116.3, 39.85, 116.5, 39.95))
    res = client.get("/api/nearest", params={"lon": 116.4, "lat": 39.9, "k": 1}).json()["results"][
        0
    ]
    url = urlparse(res["links"]["amap"])
    assert url.netloc == "uri.amap.com" and url.path == "/navigation"
    q = parse_qs(url.query)
    assert q["coordinate"] == ["gaode"] and q["mode"] == ["walk"]
    glon, glat, name = q["to"][0].split(",", 2)
    assert name == res["name"]
    back_lon, back_lat = gcj02_to_wgs84(float(glon), float(glat))
    assert abs(float(back_lon) - res["lon"]) < 1e-5 and abs(float(back_lat) - res["lat"]) < 1e-5
    assert abs(float(glon) - res["lon"]) > 1e-4  # shifted: it really is GCJ-02
    assert res["links"]["geo"] == f"geo:{res['lat']:.6f},{res['lon']:.6f}"


def _seed_activities(url: str, now: datetime) -> None:
    with psycopg.connect(url) as conn:
        org = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('o1', '党委', '党委', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id"
        ).fetchone()[0]
        spans = [(-3, 1), (1, 3), (24 * 10, 24 * 10 + 2), (24 * 20, 24 * 20 + 2), (-48, -46)]
        for i, (a, b) in enumerate(spans):
            conn.execute(
                "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
                "VALUES (%s, %s, '主题党日', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, 39.9), 4326))",
                (
                    f"a{i}",
                    f"活动{i}",
                    org,
                    now + timedelta(hours=a),
                    now + timedelta(hours=b),
                    116.4 + 0.001 * i,
                ),
            )


def test_activities_default_window_is_upcoming_14_days(client: TestClient, clean_db: str) -> None:
    now = datetime.now(UTC)
    _seed_activities(clean_db, now)
    body = client.get(
        "/api/nearest", params={"lon": 116.4, "lat": 39.9, "target": "activities", "k": 10}
    ).json()
    assert [x["name"] for x in body["results"]] == [
        "活动0",
        "活动1",
        "活动2",
    ]  # running, soon, in 10 days
    assert {"from", "to"} <= set(body["window"])
    assert body["results"][0]["starts_at"] < body["results"][0]["ends_at"]
    later = {
        "from": (now + timedelta(days=15)).isoformat(),
        "to": (now + timedelta(days=30)).isoformat(),
    }
    body = client.get(
        "/api/nearest", params={"lon": 116.4, "lat": 39.9, "target": "activities", "k": 10, **later}
    ).json()
    assert [x["name"] for x in body["results"]] == ["活动3"]


@pytest.mark.parametrize(
    "params",
    [
        {"lon": 116.4, "lat": 90.5},
        {"lon": 116.4, "lat": -91},
        {"lon": 180.5, "lat": 39.9},
        {"lon": -181, "lat": 39.9},
        {"lon": 116.4, "lat": 39.9, "k": 51},
        {"lon": 116.4, "lat": 39.9, "k": 0},
        {"lon": 116.4, "lat": 39.9, "target": "members"},
        {"lon": 116.4, "lat": 39.9, "mode": "fly"},
        {"lon": "east", "lat": 39.9},
        {"lat": 39.9},
        {
            "lon": 116.4,
            "lat": 39.9,
            "target": "activities",
            "from": "2026-05-02T00:00:00Z",
            "to": "2026-05-01T00:00:00Z",
        },
        {"lon": 116.4, "lat": 39.9, "speed": 0},
    ],
)
def test_bad_input_is_400(client: TestClient, params) -> None:
    r = client.get("/api/nearest", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["description"]


def test_empty_table_answers_empty(client: TestClient) -> None:
    r = client.get("/api/nearest", params={"lon": 116.4, "lat": 39.9})
    assert r.status_code == 200 and r.json()["results"] == []


def test_activities_respect_the_callers_subtree(clean_db: str) -> None:
    from api.deps import get_principal
    from geo.scope import Principal

    now = datetime.now(UTC)
    with psycopg.connect(clean_db) as conn:
        orgs = [
            conn.execute(
                "INSERT INTO organisations (code, name, type, geom) VALUES "
                "(%s, %s, '党委', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id",
                (code, code),
            ).fetchone()[0]
            for code in ("A", "B")
        ]
        for i in range(6):
            conn.execute(
                "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
                "VALUES (%s, %s, '学习', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, 39.9), 4326))",
                (
                    f"a{i}",
                    f"{'AB'[i % 2]}{i}",
                    orgs[i % 2],
                    now,
                    now + timedelta(hours=2),
                    116.4 + 0.001 * i,
                ),
            )
    params = {"lon": 116.4, "lat": 39.9, "target": "activities", "k": 10}
    for org, letter in zip(orgs, "AB", strict=True):
        app = create_app(Settings(db=DatabaseSettings(database_url=clean_db)))
        app.dependency_overrides[get_principal] = lambda org=org: Principal(
            role="planner", org_id=org
        )
        with TestClient(app) as c:
            names = [x["name"] for x in c.get("/api/nearest", params=params).json()["results"]]
        assert len(names) == 3 and all(n.startswith(letter) for n in names)
