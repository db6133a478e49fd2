"""The printable coverage report (issue 14 §6): an A4 PDF with its pages, zh-CN text (embedded
glyphs: pdftotext reads it back), the headline figures of the coverage core, per-site catchments,
grids and data versions; pages turned into images with pdftoppm; the API's button route."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from privacy import add_users, api_client, bearer, two_subtrees
from typer.testing import CliRunner

from api.cli import app as cli
from geo.analysis import coverage as core
from geo.db import Direct
from geo.planning import report
from geo.scope import Principal
from web import report as printed

KEY = "report-key-" + "p" * 32
ADMIN = Principal(role="admin")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def pdf_pages(path: Path) -> tuple[int, str]:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    size = re.search(r"Page size:\s+(.*)", info.stdout).group(1)  # type: ignore[union-attr]
    return pages, size


def page_images(path: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


@pytest.fixture(scope="module")
def sample_report(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with psycopg.connect(sample_url) as conn:
        district = conn.execute("SELECT code, name FROM districts LIMIT 1").fetchone()
    assert district is not None
    data = report.collect(Direct(sample_url), report.ReportRequest(district=district[0]), ADMIN)
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    path.write_bytes(printed.pdf(data))
    return {"data": data, "path": path, "district": district, "url": sample_url}


def test_the_pdf_is_a4_with_its_pages(sample_report: dict, tmp_path: Path,
                                      output_dir: Path) -> None:  # fmt: skip
    path = sample_report["path"]
    pages, size = pdf_pages(path)
    assert pages >= 2
    width, height = (float(v) for v in re.findall(r"[\d.]+", size)[:2])
    assert (round(width), round(height)) in ((595, 842), (594, 841), (595, 841))  # A4 in pt
    images = page_images(path, tmp_path)
    assert len(images) == pages
    first = np.asarray(Image.open(images[0]).convert("L"))
    assert (first < 200).mean() > 0.02  # ink on the first page: title, table, map
    (output_dir / "coverage-report.pdf").write_bytes(path.read_bytes())


def test_the_text_holds_the_figures(sample_report: dict) -> None:
    text = pdf_text(sample_report["path"])
    data, (code, name) = sample_report["data"], sample_report["district"]
    for words in ("15分钟党群服务圈覆盖报告", name, "主要指标", "建议新增站点", "各服务阵地服务范围",
                  "党建网格覆盖", "数据版本", data["date"], "5分钟内建筑", "15分钟内建筑"):  # fmt: skip
        assert words in text, words
    req = core.CoverageRequest(minutes=15, mode="walk", weight="population", district=code)
    run = core.run(Direct(sample_report["url"]), req, ADMIN)["summary"]
    figures = f"{run['count_covered']:,} / {run['count_total']:,}"
    assert figures in text  # buildings covered, as the coverage core counts them
    assert f"{run['coverage_pct_count']:.1f}%" in text
    for site in data["sites"][:5]:
        assert site["name"] in text.replace("\n", "")
    assert data["grids"] and data["grids"][0]["name"] in text
    assert "grids" in text and "service_points" in text  # the data versions' tables


def test_catchments_are_nested_and_private(sample_report: dict) -> None:
    sites = sample_report["data"]["sites"]
    assert sites
    for s in sites:
        assert s["buildings_5"] <= s["buildings_10"] <= s["buildings_15"]
        assert s["members"] is None or (s["members"] >= 10 and s["members"] % 10 == 0)
    assert any(s["buildings_15"] > s["buildings_5"] for s in sites)
    for g in sample_report["data"]["grids"]:
        assert g["members"] is None or (g["members"] >= 10 and g["members"] % 10 == 0)


def test_the_cli_writes_the_report(sample_report: dict, tmp_path: Path) -> None:
    out = tmp_path / "cli.pdf"
    code = sample_report["district"][0]
    env = {"DJMAP_DATABASE_URL": sample_report["url"]}
    run = CliRunner().invoke(cli, ["report", "coverage", "--district", code, "--lang", "en",
                                   "--out", str(out)], env=env)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Coverage report" in pdf_text(out) or "coverage report" in pdf_text(out)
    bad = CliRunner().invoke(cli, ["report", "coverage", "--district", "nope", "--out",
                                   str(tmp_path / "x.pdf")], env=env)  # fmt: skip
    assert bad.exit_code == 1 and not (tmp_path / "x.pdf").exists()


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    yield from api_client(clean_db, KEY)


def test_the_button_route(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/api/reports/coverage.pdf").status_code == 401
    member = bearer(client, "member_a")
    assert client.get("/api/reports/coverage.pdf", headers=member).status_code == 403
    planner = bearer(client, "planner_b")
    r = client.get("/api/reports/coverage.pdf", headers=planner)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    path = tmp_path / "api.pdf"
    path.write_bytes(r.content)
    assert pdf_pages(path)[0] >= 1 and "覆盖报告" in pdf_text(path)
    for params, status in (({"district": "nope"}, 404), ({"bbox": "1,2,3"}, 400),
                           ({"district": "x", "bbox": "0,0,1,1"}, 400),
                           ({"bbox": "100,20,130,50"}, 413), ({"scenario": 999}, 404)):  # fmt: skip
        got = client.get("/api/reports/coverage.pdf", params=params, headers=planner)
        assert got.status_code == status, (params, got.text)
