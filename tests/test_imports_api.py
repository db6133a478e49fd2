"""POST /api/imports: 201 written, 422 rejected with the row-numbered report, 413, 401/403."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, bearer, two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

KEY = "imports-test-key-" + "y" * 32
GOOD = (  # under A-W, the organisation steward_a is bound to
    "code,name,type,parent_code,lon,lat,building_code,founded,contact\n"
    "C-W,新党委,党委,A-W,116.40,39.91,,2001-07-01,010-1\n"
    "C-B,新支部,党支部,C-W,116.41,39.92,,2005-07-01,010-2\n"
)
BAD = (
    "code,name,type,parent_code,lon,lat,building_code,founded,contact\n"
    "D-W,坏党委,党委,,116.40,39.91,,2001-07-01,010-1\n"
    "D-B,坏支部,党支部,D-W,200.0,39.92,,2005-07-01,010-2\n"
)


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    settings = Settings(
        db=DatabaseSettings(database_url=clean_db),
        api=ApiSettings(secret_key=KEY, max_upload_mb=1),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def orgs(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT code FROM organisations")}


def post(
    client: TestClient,
    body: str | bytes,
    name: str = "orgs.csv",
    user: str | None = "steward_a",
    **form: str,
):
    headers = bearer(client, user) if user else {}
    data = {"kind": "organisations", **form}
    return client.post("/api/imports", files={"file": (name, body)}, data=data, headers=headers)


def test_steward_import_written_201(client: TestClient, clean_db: str) -> None:
    r = post(client, GOOD.encode())
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "written" and report["rows_written"] == 2
    assert report["source"] == "orgs.csv" and report["import_id"]
    assert {"C-W", "C-B"} <= orgs(clean_db)
    with psycopg.connect(clean_db) as conn:
        actor = conn.execute("SELECT actor FROM imports WHERE id = %s", (report["import_id"],))
        assert actor.fetchone() == ("steward_a",)


def test_bad_rows_422_with_row_numbered_report_and_nothing_written(
    client: TestClient, clean_db: str
) -> None:
    before = orgs(clean_db)
    r = post(client, BAD.encode(), user="admin")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "ImportRejected"
    errors = body["report"]["errors"]
    assert errors and all(e["row"] == 2 for e in errors if e.get("row") is not None)
    assert orgs(clean_db) == before
    skipped = post(client, BAD.encode(), user="admin", skip_invalid="true")
    assert skipped.status_code == 201 and skipped.json()["rows_written"] == 1
    assert "D-W" in orgs(clean_db) and "D-B" not in orgs(clean_db)


def test_too_large_413(client: TestClient, clean_db: str) -> None:
    big = GOOD.encode() + b"#" * (1024 * 1024 + 10)
    r = post(client, big)
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
    assert "C-W" not in orgs(clean_db)


@pytest.mark.parametrize(
    ("user", "status"), [(None, 401), ("leader_a", 403), ("member_a", 403), ("planner_b", 403)]
)
def test_roles_other_than_steward_admin_refused(
    client: TestClient, clean_db: str, user, status
) -> None:
    r = post(client, GOOD.encode(), user=user)
    assert r.status_code == status, r.text
    assert "C-W" not in orgs(clean_db)


def test_bad_requests_400(client: TestClient) -> None:
    assert post(client, GOOD.encode(), kind="nope").status_code == 400
    assert post(client, GOOD.encode(), name="orgs.exe").status_code == 400
    assert post(client, GOOD.encode(), crs="EPSG:999999").status_code == 400
    headers = bearer(client, "admin")
    assert (
        client.post("/api/imports", data={"kind": "organisations"}, headers=headers).status_code
        == 400
    )
    assert (
        client.post("/api/imports", json={"kind": "organisations"}, headers=headers).status_code
        == 400
    )
