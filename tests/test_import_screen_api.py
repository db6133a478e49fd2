"""The import screen's API (issue 11 §5): POST /api/imports/preview (header, first rows, automatic
column matching) and POST /api/imports with dry_run=true (every check, nothing written, no audit
row), plus the /admin page's imports tab in both languages."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, bearer, two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

KEY = "import-screen-test-key-" + "z" * 32
HEADER = (
    "组织编码,组织名称,组织类型,上级单位,经度,纬度,联系方式\n"  # 上级单位: no alias of parent_code
)
GOOD = HEADER + "C-W,新党委,党委,A-W,116.40,39.91,010-1\nC-B,新支部,党支部,C-W,116.41,39.92,010-2\n"
BAD = (
    HEADER + "E-W,党委E,党委,A-W,116.40,39.91,x\n"
    "E-B,,党支部,E-W,200.0,39.92,x\n"  # row 2: no name, longitude out of range
    "E-C,支部C,不存在,E-W,116.41,39.93,x\n"  # row 3: unknown type
)
OUTSIDE = (
    HEADER + "F-W,A 下的党委,党委,A-W,116.30,39.90,x\nF-B,B 下的支部,党支部,B-W,116.5,39.95,x\n"
)
PARENT = ("map", "parent_code=上级单位")


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


def counts(url: str) -> tuple[int, int]:
    """Rows of organisations and of the imports audit table."""
    with psycopg.connect(url) as conn:
        orgs = conn.execute("SELECT count(*) FROM organisations").fetchone()
        audits = conn.execute("SELECT count(*) FROM imports").fetchone()
    assert orgs is not None and audits is not None
    return int(orgs[0]), int(audits[0])


def send(
    client: TestClient,
    path: str,
    body: str | bytes,
    user: str | None = "steward_a",
    name: str = "orgs.csv",
    fields: list[tuple[str, str]] | None = None,
):
    headers = bearer(client, user) if user else {}
    raw = body.encode() if isinstance(body, str) else body
    data: dict[str, list[str]] = {}
    for key, value in fields if fields is not None else [("kind", "organisations")]:
        data.setdefault(key, []).append(value)  # repeated fields (map) as lists
    return client.post(path, files={"file": (name, raw)}, data=data, headers=headers)


def dry(client: TestClient, body: str, user: str = "steward_a", *extra: tuple[str, str]):
    fields = [("kind", "organisations"), ("dry_run", "true"), *extra]
    return send(client, "/api/imports", body, user, fields=fields)


def test_preview_header_rows_and_matching(client: TestClient, clean_db: str) -> None:
    before = counts(clean_db)
    rows = "".join(f"G-{i},支部{i},党支部,A-W,116.3,39.9,x\n" for i in range(12))
    r = send(client, "/api/imports/preview", HEADER + rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == HEADER.strip().split(",")
    assert body["rows_total"] == 12 and len(body["rows"]) == 10
    assert body["rows"][0] == ["G-0", "支部0", "党支部", "A-W", "116.3", "39.9", "x"]
    fields = {f["name"]: f for f in body["fields"]}
    matched = {name: f["matched"] for name, f in fields.items()}
    assert matched["code"] == "组织编码" and matched["type"] == "组织类型"
    assert matched["lon"] == "经度" and matched["contact"] == "联系方式"
    assert matched["parent_code"] is None  # the importer would not match 上级单位 either
    assert fields["code"]["required"] and fields["lat"]["required"]
    assert not fields["parent_code"]["required"]
    assert fields["lon"]["label_zh"] == "经度" and fields["lon"]["label_en"] == "Longitude"
    assert counts(clean_db) == before  # a preview writes nothing, not even an audit row


def test_preview_refusals(client: TestClient) -> None:
    assert send(client, "/api/imports/preview", GOOD, user=None).status_code == 401
    assert send(client, "/api/imports/preview", GOOD, user="member_a").status_code == 403
    assert send(client, "/api/imports/preview", GOOD, user="leader_a").status_code == 403
    buildings = send(client, "/api/imports/preview", GOOD, fields=[("kind", "buildings")])
    assert buildings.status_code == 403  # a bound steward may not import unowned kinds
    assert send(client, "/api/imports/preview", GOOD, name="orgs.exe").status_code == 400
    nope = send(client, "/api/imports/preview", GOOD, fields=[("kind", "nope")])
    assert nope.status_code == 400 and nope.json()["code"] == "InvalidParameterValue"
    mismatch = send(client, "/api/imports/preview", b"PK\x03\x04" + b"\x00" * 64)
    assert mismatch.status_code == 400 and mismatch.json()["code"] == "content_mismatch"
    big = send(client, "/api/imports/preview", GOOD.encode() + b"#" * (1024 * 1024 + 10))
    assert big.status_code == 413 and big.json()["code"] == "PayloadTooLarge"
    ragged = send(client, "/api/imports/preview", HEADER + "a,b\n")
    assert ragged.status_code == 422, ragged.text
    report = ragged.json()["report"]
    assert report["source"] == "orgs.csv" and report["errors"][0]["code"] == "bad_row_shape"


def test_dry_run_reports_numbered_rows_and_writes_nothing(
    client: TestClient, clean_db: str
) -> None:
    before = counts(clean_db)
    r = dry(client, BAD, "admin", PARENT)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "rejected" and report["dry_run"] is True
    assert report["import_id"] is None and report["source"] == "orgs.csv"
    by_row = {(e["row"], e["code"]) for e in report["errors"]}
    assert {(2, "missing_required"), (2, "out_of_range"), (3, "bad_enum")} <= by_row
    assert {row for row, _ in by_row} == {2, 3}
    assert next(e for e in report["errors"] if e["code"] == "bad_enum")["column"] == "组织类型"
    assert counts(clean_db) == before  # no organisation, no audit row


def test_dry_run_of_a_good_file_then_the_import(client: TestClient, clean_db: str) -> None:
    before = counts(clean_db)
    unmapped = ("map", "contact=")  # an empty source leaves the field out
    r = dry(client, GOOD, "steward_a", PARENT, unmapped)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "checked" and report["rows_valid"] == 2 and report["errors"] == []
    assert report["columns"]["parent_code"] == "上级单位" and "contact" not in report["columns"]
    assert "ignored_columns" in report["warning_counts"]
    assert counts(clean_db) == before
    written = send(
        client, "/api/imports", GOOD, fields=[("kind", "organisations"), PARENT, unmapped]
    )
    assert written.status_code == 201, written.text
    assert written.json()["rows_written"] == 2 and written.json()["import_id"]
    assert counts(clean_db) == (before[0] + 2, before[1] + 1)


def test_dry_run_reports_a_bound_stewards_out_of_scope_row(
    client: TestClient, clean_db: str
) -> None:
    before = counts(clean_db)
    r = dry(client, OUTSIDE, "steward_a", PARENT, ("skip_invalid", "true"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "rejected"  # out of scope rejects the file even with skip_invalid
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(2, "out_of_scope")]
    assert counts(clean_db) == before


@pytest.mark.parametrize(("user", "status"), [(None, 401), ("member_a", 403)])
def test_dry_run_refused_to_other_callers(
    client: TestClient, clean_db: str, user: str | None, status: int
) -> None:
    fields = [("kind", "organisations"), ("dry_run", "true"), PARENT]
    r = send(client, "/api/imports", GOOD, user, fields=fields)
    assert r.status_code == status, r.text


def test_admin_page_has_the_imports_tab_in_both_languages(client: TestClient) -> None:
    zh = client.get("/admin").text
    assert 'id="tab-imports"' in zh and ">导入<" in zh and "确认导入" in zh and "下载报告" in zh
    en = client.get("/admin?lang=en").text
    assert ">Imports<" in en and "Validate" in en and "Download report" in en
    assert "admin_imports.js" in en
