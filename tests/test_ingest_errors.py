"""Every class of bad input: the right row and reason are named, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import Polygon

from geo.errors import ImportRejected
from geo.ingest import import_file

BASE_ORGS = (
    "code,name,type,parent_code,lon,lat\n"
    "W1,党委,党委,,120.16,30.26\n"
    "B1,支部,党支部,W1,120.15,30.25\n"
)
M_HEAD = "external_id,name,branch_code,status,joined,lon,lat\n"
M_OK = "M1,张三,B1,正式,2010-01-01,120.15,30.25\n"
A_HEAD = "code,title,kind,organiser_code,service_point_code,starts_at,ends_at,capacity,lon,lat\n"
A_OK = "A1,学习,学习,B1,,2025-05-01T09:00+08:00,2025-05-01T10:00+08:00,10,120.15,30.25\n"
SP_HEAD = "code,name,kind,org_code,capacity,lon,lat\n"
SP_OK = "SP1,中心,党群服务中心,W1,10,120.15,30.25\n"
O_HEAD = "code,name,type,parent_code,lon,lat\n"

TABLE = {"members": "members", "activities": "activities", "service-points": "service_points"}
TABLE["organisations"] = "organisations"

# (kind, file text, china_only, expected (row, code) pairs); row = 1-based data row
CASES = {
    "missing_coordinates": ("members", M_HEAD + M_OK + "M2,李四,B1,正式,,120.1,\n", False, [(2, "missing_coordinates")]),
    "non_numeric": ("members", M_HEAD + "M2,李四,B1,正式,,东经120,30.2\n" + M_OK, False, [(1, "non_numeric_coordinates")]),
    "swap_lat_over_90": ("members", M_HEAD + M_OK + "M2,李四,B1,正式,,30.25,120.15\n", False, [(2, "lonlat_swapped")]),
    "swap_china_only": ("service-points", SP_HEAD + SP_OK + "SP2,站,党群服务站,W1,,30.25,80.15\n", True, [(2, "lonlat_swapped")]),
    "out_of_range": ("members", M_HEAD + M_OK + "M2,李四,B1,正式,,190,95\n", False, [(2, "out_of_range")]),
    "outside_china": ("members", M_HEAD + M_OK + "M2,李四,B1,正式,,2.35,48.85\n", True, [(2, "outside_china")]),
    "duplicate_id": ("members", M_HEAD + M_OK + M_OK.replace("张三", "张三丰"), False, [(2, "duplicate_id")]),
    "unknown_branch": ("members", M_HEAD + M_OK + "M2,李四,B404,正式,,120.1,30.2\n", False, [(2, "unknown_branch")]),
    "bad_status": ("members", M_HEAD + "M2,李四,B1,党员,,120.1,30.2\n" + M_OK, False, [(1, "bad_enum")]),
    "bad_date": ("members", M_HEAD + M_OK + "M2,李四,B1,正式,2010-02-30,120.1,30.2\n", False, [(2, "bad_date")]),
    "missing_required": ("members", M_HEAD + M_OK + "M2,,B1,正式,,120.1,30.2\n", False, [(2, "missing_required")]),
    "unknown_parent": ("organisations", O_HEAD + "Z1,总支,党总支,W9,120.1,30.2\n", False, [(1, "unknown_parent")]),
    "bad_org_type": ("organisations", O_HEAD + "Z1,总支,党小组,W1,120.1,30.2\n", False, [(1, "bad_enum")]),
    "parent_cycle": (
        "organisations",
        O_HEAD + "X1,甲,党总支,X2,120.1,30.2\nX2,乙,党总支,X1,120.1,30.2\nX3,丙,党支部,W1,120.1,30.2\n",
        False,
        [(1, "parent_cycle"), (2, "parent_cycle")],
    ),
    "unknown_organiser": ("activities", A_HEAD + A_OK + A_OK.replace("A1,", "A2,").replace(",B1,", ",B7,"), False, [(2, "unknown_organiser")]),
    "unknown_service_point": ("activities", A_HEAD + A_OK.replace(",B1,,", ",B1,SP404,"), False, [(1, "unknown_service_point")]),
    "bad_datetime": ("activities", A_HEAD + A_OK.replace("2025-05-01T09:00+08:00", "明天上午"), False, [(1, "bad_datetime")]),
    "end_before_start": ("activities", A_HEAD + A_OK + "A2,学习,学习,B1,,2025-05-01T10:00+08:00,2025-05-01T09:00+08:00,,120.1,30.2\n", False, [(2, "end_before_start")]),
    "negative_capacity": ("service-points", SP_HEAD + SP_OK + "SP2,站,党群服务站,W1,-5,120.1,30.2\n", False, [(2, "negative_capacity")]),
    "bad_kind": ("service-points", SP_HEAD + "SP2,站,服务大厅,W1,,120.1,30.2\n" + SP_OK, False, [(1, "bad_enum")]),
}  # fmt: skip


def errors_of(report: dict[str, object]) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], report["errors"])


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


@pytest.fixture
def base(clean_db: str, tmp_path: Path) -> str:
    path = tmp_path / "orgs.csv"
    path.write_text(BASE_ORGS, "utf-8")
    import_file(clean_db, "organisations", path, progress=False)
    return clean_db


@pytest.mark.parametrize("case", list(CASES))
def test_bad_rows_are_named_and_nothing_is_written(base: str, tmp_path: Path, case: str):
    kind, text, china_only, expected = CASES[case]
    path = tmp_path / "in.csv"
    path.write_text(text, "utf-8")
    before = count(base, TABLE[kind])
    with pytest.raises(ImportRejected) as info:
        import_file(base, kind, path, china_only=china_only, progress=False)
    report = info.value.report
    assert [(e["row"], e["code"]) for e in errors_of(report)] == expected
    for e in errors_of(report):
        assert e["line"] == e["row"] + 1 and e["message"]
    assert count(base, TABLE[kind]) == before
    with psycopg.connect(base) as conn:
        status = conn.execute("SELECT status FROM imports ORDER BY id DESC LIMIT 1").fetchone()
    assert status == ("rejected",)


@pytest.mark.parametrize("case", ["swap_lat_over_90", "duplicate_id", "end_before_start"])
def test_skip_invalid_writes_exactly_the_good_rows(base: str, tmp_path: Path, case: str):
    kind, text, china_only, expected = CASES[case]
    path = tmp_path / "in.csv"
    path.write_text(text, "utf-8")
    before = count(base, TABLE[kind])
    result = import_file(base, kind, path, skip_invalid=True, china_only=china_only, progress=False)
    good = result.rows_total - len(expected)
    assert (result.rows_inserted, result.rows_skipped) == (good, len(expected))
    assert count(base, TABLE[kind]) == before + good


def test_skip_invalid_drops_children_of_bad_orgs(base: str, tmp_path: Path):
    path = tmp_path / "o.csv"
    path.write_text(
        O_HEAD
        + "C1,子支部,党支部,Z1,120.1,30.2\n"  # parent is the bad row below
        + "Z1,总支,党总支,W1,abc,30.2\n"
        + "Z2,总支二,党总支,W1,120.1,30.2\n",
        "utf-8",
    )
    result = import_file(base, "organisations", path, skip_invalid=True, progress=False)
    assert [(e["row"], e["code"]) for e in result.errors] == [
        (1, "parent_rejected"),
        (2, "non_numeric_coordinates"),
    ]
    assert result.rows_inserted == 1
    assert count(base, "organisations") == 3


def test_undecodable_file_names_the_encoding_and_line(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    good = (M_HEAD + M_OK).encode("utf-8")
    path.write_bytes(good + b"M2,\xff\xfe\xff\xfe,B1,\xe6\xad,,120.1,30.2\n")
    with pytest.raises(ImportRejected) as info:
        import_file(base, "members", path, progress=False)
    (err,) = errors_of(info.value.report)
    assert err["code"] == "bad_encoding"
    assert "not UTF-8 (line 3" in err["message"] and "GB18030" in err["message"]
    assert count(base, "members") == 0


def test_missing_column_is_named(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text("external_id,name,status,lon,lat\nM1,张三,正式,120.1,30.2\n", "utf-8")
    with pytest.raises(ImportRejected, match=r"missing column.*branch_code"):
        import_file(base, "members", path, progress=False)


def test_geometry_that_cannot_be_repaired(clean_db: str, tmp_path: Path):
    flat = Polygon([(120.1, 30.2), (120.2, 30.2), (120.3, 30.2), (120.1, 30.2)])  # zero area
    ok = Polygon([(120.1, 30.2), (120.101, 30.2), (120.101, 30.201)])
    gdf = gpd.GeoDataFrame(
        {"code": ["B1", "B2", "B3"], "height_m": [10.0, 10.0, -3.0]},
        geometry=[ok, flat, ok],
        crs=4326,
    )
    path = tmp_path / "b.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRejected) as info:
        import_file(clean_db, "buildings", path, progress=False)
    errors = [(e["row"], e["code"], e["line"]) for e in errors_of(info.value.report)]
    assert errors == [(2, "invalid_geometry", None), (3, "out_of_range_value", None)]
    assert count(clean_db, "buildings") == 0


def test_nul_character_is_named(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text(M_HEAD + M_OK + "M2,李\x00四,B1,正式,,120.1,30.2\n", "utf-8")
    with pytest.raises(ImportRejected, match="NUL character on line 3"):
        import_file(base, "members", path, progress=False)


def test_database_failure_is_recorded_and_nothing_written(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from geo.ingest import writers

    real = writers.upsert

    def upsert_then_fail(conn, table, rows):
        real(conn, table, rows)
        raise psycopg.errors.DataError("simulated: value out of range")

    monkeypatch.setattr(writers, "upsert", upsert_then_fail)
    path = tmp_path / "m.csv"
    path.write_text(M_HEAD + M_OK, "utf-8")
    with pytest.raises(ImportRejected, match="import failed, nothing was written") as info:
        import_file(base, "members", path, progress=False)
    assert info.value.report["status"] == "failed"
    assert count(base, "members") == 0
    with psycopg.connect(base) as conn:
        row = conn.execute(
            "SELECT status, report->>'failure' FROM imports ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row is not None and row[0] == "failed" and "simulated" in row[1]


def test_row_with_wrong_field_count_is_named_by_line(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text(M_HEAD + M_OK + '"M2",李四,B1,正式,,120.1,30.2,多余\n', "utf-8")
    with pytest.raises(ImportRejected, match="line 3 has 8 fields, not 7"):
        import_file(base, "members", path, progress=False)
    assert count(base, "members") == 0


def test_empty_file_and_header_only(base: str, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportRejected, match="empty"):
        import_file(base, "members", empty, progress=False)
    header = tmp_path / "header.csv"
    header.write_text(M_HEAD, "utf-8")
    result = import_file(base, "members", header, progress=False)
    assert (result.rows_total, result.rows_written) == (0, 0)


def test_cycle_through_the_database_is_caught(base: str, tmp_path: Path):
    path = tmp_path / "o.csv"
    path.write_text(O_HEAD + "W1,党委,党委,B1,120.16,30.26\n", "utf-8")  # B1's parent is W1
    with pytest.raises(ImportRejected) as info:
        import_file(base, "organisations", path, progress=False)
    (err,) = errors_of(info.value.report)
    assert (err["row"], err["code"]) == (1, "parent_cycle") and "W1 → B1 → W1" in err["message"]


def test_member_without_home_is_allowed(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text(M_HEAD + "M9,赵六,B1,流动,,,\n", "utf-8")
    assert import_file(base, "members", path, progress=False).rows_inserted == 1
    with psycopg.connect(base) as conn:
        assert conn.execute("SELECT home IS NULL FROM members").fetchone() == (True,)


def test_member_reports_do_not_repeat_home_coordinates(base: str, tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text(M_HEAD + "M2,李四,B1,正式,,30.251234,120.151234\n", "utf-8")
    with pytest.raises(ImportRejected) as info:
        import_file(base, "members", path, progress=False)
    (err,) = errors_of(info.value.report)
    assert err["code"] == "lonlat_swapped" and "value" not in err
    assert "30.25" not in str(info.value) and "30.25" not in str(info.value.report)
    with psycopg.connect(base) as conn:
        stored = conn.execute(
            "SELECT report::text FROM imports ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert stored is not None and "30.25" not in stored[0]
