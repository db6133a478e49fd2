"""Organisation life through the one ingest core (issue 13 §1): meetings, terms and dues from
CSV and XLSX with Chinese or English headers, row-numbered reports (bad kind, unknown
organisation, duplicate rows), derived keys (a rerun writes nothing), scoped importers."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import psycopg
import pytest
from health_world import make_world

from geo.errors import ImportRejected
from geo.ingest import import_file


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    return make_world(clean_db)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_meetings_with_chinese_headers_and_a_row_numbered_report(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    bad = write(
        tmp_path / "meetings.csv",
        "组织编码,会议类型,召开日期,到会人数\n"
        "hb1,党小组会,2026-05-10,11\n"
        "hb1,支委会,2026/5/12,\n"
        "hb1,茶话会,2026-05-13,3\n"
        "nope,党课,2026-05-13,3\n"
        "hb1,党小组会议,2026-05-10,9\n",
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(clean_db, "meetings", bad, progress=False)
    errors = {(e["row"], e["code"]) for e in caught.value.report["errors"]}
    assert {(3, "bad_enum"), (4, "unknown_org"), (5, "duplicate_id")} <= {
        (r, c if c != "invalid_enum" else "bad_enum") for r, c in errors
    }, errors
    result = import_file(clean_db, "meetings", bad, skip_invalid=True, progress=False)
    assert (result.rows_written, result.rows_skipped) == (2, 3)
    again = import_file(clean_db, "meetings", bad, skip_invalid=True, progress=False)
    assert again.rows_written == 0
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT code, kind, held_on::text, source, attendance FROM meetings ORDER BY held_on"
        ).fetchall()
    assert rows == [
        ("hb1:党小组会:2026-05-10", "党小组会", "2026-05-10", "import", 11),
        ("hb1:支委会:2026-05-12", "支委会", "2026-05-12", "import", None),
    ]


def test_terms_and_dues_from_xlsx_and_english_headers(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    terms = write(
        tmp_path / "terms.csv",
        "org_code,elected_on,term_years\nhb1,2024-03-01,\nhb3,2021-01-01,5\n",
    )
    assert import_file(clean_db, "terms", terms, progress=False).rows_written == 2
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (
        ("组织编码", "月份", "交纳比例", "欠缴人数"),
        ("hb1", "2026-04", 0.9, 1),
        ("hb1", "2026-05-01", 1, 0),
    ):
        sheet.append(row)
    xlsx = tmp_path / "dues.xlsx"
    book.save(xlsx)
    assert import_file(clean_db, "dues", xlsx, progress=False).rows_written == 2
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(
            "SELECT code, term_years FROM committee_terms ORDER BY code"
        ).fetchall() == [("hb1:2024-03-01", 3), ("hb3:2021-01-01", 5)]
        assert conn.execute(
            "SELECT code, month::text, paid_share, arrears_count FROM dues_months ORDER BY month"
        ).fetchall() == [
            ("hb1:2026-04", "2026-04-01", 0.9, 1),
            ("hb1:2026-05", "2026-05-01", 1.0, 0),
        ]
    over = write(tmp_path / "over.csv", "org,month,paid,arrears\nhb1,2026-06,1.5,0\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(clean_db, "dues", over, progress=False)
    assert [e["row"] for e in caught.value.report["errors"]] == [1]


def test_a_bound_importer_writes_only_its_subtree(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    f = write(tmp_path / "m.csv", "org,kind,date\nhb1,党课,2026-05-01\nhb2,党课,2026-05-01\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(
            clean_db, "meetings", f, scope_org=world["c1"], skip_invalid=True, progress=False
        )
    assert {(e["row"], e["code"]) for e in caught.value.report["errors"]} == {(2, "out_of_scope")}


def test_the_sample_districts_organisation_life_has_a_real_mix(clean_db: str) -> None:
    """60 branches under 6 committees: the synthetic year gives green, amber and red, one term
    overdue and some dues arrears of 6 months; labelled, and a rerun adds nothing."""
    from datetime import date

    from health_world import build

    from geo.samples.orglife import add_orglife_sample

    with psycopg.connect(clean_db) as conn:
        conn.execute("TRUNCATE events, health_rule_sets")
        for c in range(6):
            top = conn.execute(
                "INSERT INTO organisations (code, name, type, geom) VALUES (%s, %s, '党委', "
                "ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id",
                (f"sc{c}", f"委{c}"),
            ).fetchone()[0]
            for b in range(10):
                conn.execute(
                    "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
                    "(%s, %s, '党支部', %s, ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326))",
                    (f"sc{c}b{b}", f"支部{c}-{b}", top),
                )
    day = date(2026, 6, 15)
    written = add_orglife_sample(clean_db, 42, day)
    assert written > 0
    assert add_orglife_sample(clean_db, 42, day) == written  # offered again …
    with psycopg.connect(clean_db) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM meetings), (SELECT count(*) FROM committee_terms), "
            "(SELECT count(*) FROM dues_months), "
            "(SELECT count(*) FROM meetings WHERE code LIKE 'sample:%%' AND note = '（示例）')"
        ).fetchone()
        assert counts[0] + counts[1] + counts[2] == written  # … and nothing was added
        assert counts[3] == counts[0]
    build(clean_db, day)
    with psycopg.connect(clean_db) as conn:
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM org_health_scores GROUP BY 1").fetchall()
        )
        rules = conn.execute(
            "SELECT r->>'rule', count(*) FROM org_health_scores, jsonb_array_elements(breakdown) r "
            "WHERE r->>'state' = 'missed' GROUP BY 1"
        ).fetchall()
    assert set(statuses) == {"green", "amber", "red"}, statuses
    missed = dict(rules)
    assert missed.get("term_election") == 1
    assert missed.get("dues_arrears", 0) >= 1
