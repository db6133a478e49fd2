"""POST /api/coverage: the rules around the figures: lattices, caps, analysis slots, and that no
home's own position shows (on the data set of tests/test_coverage.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import h3
import psycopg
import pytest
from fastapi.testclient import TestClient
from test_coverage import AREA, R, make_data, planner_client

from api.settings import Settings


@pytest.fixture
def data(clean_db: str) -> dict[str, object]:
    return make_data(clean_db)


@pytest.fixture
def planner(data) -> Iterator[TestClient]:
    with planner_client(data["url"]) as c:
        yield c


def test_a_home_moved_within_its_cell_changes_nothing(planner: TestClient, data) -> None:
    """Where a member lives inside its finest H3 cell never shows: moving every member of the
    district to its res-10 cell's centre leaves every answer as it was (on exact counts, homes
    crossing a circle would have moved the figures by one)."""
    reqs = [{"meters": R, "district": "D1", "propose": 2},
            {"meters": 450, "bbox": [116.38, 39.88, 116.42, 39.91], "propose": 1,
             "candidates": [[116.40, 39.90]]}]  # fmt: skip
    before = [planner.post("/api/coverage", json=q).json() for q in reqs]
    with psycopg.connect(data["url"]) as conn:
        rows = conn.execute("SELECT id, ST_X(home), ST_Y(home) FROM members").fetchall()
        moved = []
        for mid, x, y in rows:
            c_lat, c_lon = h3.cell_to_latlng(h3.latlng_to_cell(y, x, 10))
            moved.append((c_lon, c_lat, mid))
        conn.cursor().executemany(
            "UPDATE members SET home = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s", moved
        )
    after = [planner.post("/api/coverage", json=q).json() for q in reqs]
    assert after == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"meters": 800, "minutes": 10}, 400),
        ({"meters": -1}, 400),
        ({"meters": 50000}, 400),
        ({"mode": "drive"}, 400),
        ({"weight": "votes"}, 400),
        ({"propose": 51}, 400),
        ({"bbox": [116.5, 39.9, 116.4, 40.0]}, 400),
        ({"bbox": [1, 2, 3]}, 400),
        ({"district": "D1", "bbox": list(AREA)}, 400),
        ({"candidates": "everywhere"}, 400),
        ({"candidates": [[200, 10]]}, 400),
        ({"h3_res": 20}, 400),
        ({"h3_res": 4}, 400),
        ({"max_candidates": 0}, 400),
        ({"max_candidates": 5000}, 400),
        ({"grid_m": 5}, 400),
        ({"district": "NOPE"}, 404),
        ({"bbox": [116.0, 39.5, 117.0, 40.5]}, 413),  # about 9,500 km²
        ({"candidates": [[116.4, 39.9]] * 501}, 413),
        ({"district": "D1", "propose": 1, "candidates": "grid", "grid_m": 20}, 413),
    ],
)
def test_bad_requests(planner: TestClient, data, body, status) -> None:
    r = planner.post("/api/coverage", json=body)
    assert r.status_code == status, r.text
    assert r.json()["description"] if status != 400 else r.json()["code"]


def test_a_nudged_bbox_never_reveals_a_few_members(planner: TestClient, data) -> None:
    """Sliding a bbox edge past a few homes at a time (what exact counts would leak: differences
    of 1..9 members) moves every member figure by 0 or by 10 or more."""
    lon, lat = data["lon"], data["lat"]
    boxes = [[116.37 + step * 0.0002, 39.88, 116.43, 39.92] for step in range(15)]
    boxes.append([116.39, 39.88, 116.43, 39.92])  # and a step far enough to drop whole atoms
    exact = [
        int(((lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])).sum()) for b in boxes
    ]
    steps = [a - b for a, b in itertools.pairwise(exact)]
    assert any(0 < d < 10 for d in steps)  # the nudges do isolate a few homes
    figures = []
    for b in boxes:
        r = planner.post("/api/coverage", json={"meters": R, "bbox": b, "weight": "members"})
        assert r.status_code == 200, r.text
        s = r.json()["summary"]
        figures.append((s["count_total"], s["count_covered"], s["uncovered_count"]))
    for before, after in itertools.pairwise(figures):
        for x, y in zip(before, after, strict=True):
            assert x - y == 0 or abs(x - y) >= 10, (before, after)
    assert figures[-1][0] < figures[0][0]  # the figures do follow the box, by whole atoms


def test_parameters_snap_to_the_lattices(planner: TestClient, data) -> None:
    """Radius to 50 m, minutes to whole minutes, bbox edges outward to 0.001°, the grid step to
    50 m; the response states the values used, and requests that snap alike answer alike."""
    bbox = [116.37012, 39.88049, 116.42991, 39.91903]
    a = planner.post("/api/coverage", json={"meters": 780.5, "bbox": bbox}).json()
    b = planner.post(
        "/api/coverage", json={"meters": 805, "bbox": [116.3705, 39.8801, 116.4291, 39.9191]}
    ).json()
    assert a["params"]["radius_m"] == a["params"]["meters"] == 800.0
    assert a["params"]["bbox"] == [116.37, 39.88, 116.43, 39.92]
    assert a == b
    m = planner.post("/api/coverage", json={"minutes": 10.4, "speed": 80, "bbox": bbox}).json()
    assert (m["params"]["minutes"], m["params"]["radius_m"]) == (10.0, 800.0)
    assert m["summary"] == a["summary"]
    g = planner.post(
        "/api/coverage",
        json={"meters": 800, "bbox": bbox, "propose": 1, "candidates": "grid", "grid_m": 130},
    ).json()
    assert g["params"]["grid_m"] == 150.0 and g["proposed"]
    auto = planner.post(
        "/api/coverage", json={"meters": 800, "district": "D1", "propose": 1, "candidates": "grid"}
    ).json()
    assert auto["params"]["grid_m"] == 400.0  # radius / 2, within the grid cap


def test_analysis_slots_bound_the_work() -> None:
    """Coverage runs hold one of `analysis_slots` until their thread ends (a client that goes
    away frees nothing early); a run that finds none within `analysis_wait_s` gets 503."""
    import asyncio
    import threading

    from fastapi import FastAPI, HTTPException

    from api.routers.coverage import run_bounded
    from api.settings import ApiSettings

    settings = Settings(api=ApiSettings(analysis_slots=1, analysis_wait_s=0.2))
    app = FastAPI()
    release = threading.Event()

    async def scenario() -> tuple[int, str, str]:
        first = asyncio.ensure_future(run_bounded(app, settings, lambda: release.wait(30)))
        await asyncio.sleep(0.05)
        first.cancel()  # the client goes away; its thread still runs
        with pytest.raises(HTTPException) as busy:
            await run_bounded(app, settings, lambda: "second")
        release.set()  # the first thread ends and frees its slot: the third run waits for it
        patient = Settings(api=ApiSettings(analysis_slots=1, analysis_wait_s=30))
        third = await run_bounded(app, patient, lambda: "third")
        return busy.value.status_code, (busy.value.headers or {})["Retry-After"], third

    status, retry, third = asyncio.run(scenario())
    assert (status, retry, third) == (503, "5", "third")
