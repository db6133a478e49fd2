"""GDAL's OAPIF driver (Debian gdal-bin's `ogrinfo`) reads every collection of a running server
with the write endpoints in place, and sees a feature just written through Part 4."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from geo.cluster import free_port
from geo.users import add_user

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "gdal-writes-password-1"


@pytest.fixture
def server(clean_db: str, tmp_path: Path) -> Iterator[str]:
    """A committee with a branch, a service point and an activity; an admin; the app served."""
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('c1', '一号党委', '党委', ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326))"
        )
        conn.execute(
            "INSERT INTO service_points (code, name, kind, org_id, geom) SELECT 'sp1', '一站', "
            "'党群服务站', id, ST_SetSRID(ST_MakePoint(120.21, 30.26), 4326) FROM organisations"
        )
    add_user(clean_db, "gdal-admin", PASSWORD, "admin")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
    env |= {"DJMAP_DATABASE_URL": clean_db, "DJMAP_HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # a start-up wait cap, not a timed assertion
            try:
                urllib.request.urlopen(base + "/api/health", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _json(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def _ogrinfo(*args: str) -> str:
    run = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_gdal_reads_every_collection_and_a_written_feature(server: str) -> None:
    form = f"username=gdal-admin&password={PASSWORD}".encode()
    token = _json(server + "/api/auth/token", form)["access_token"]
    feature = {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "title": "GDAL 读到的活动",
            "kind": "学习",
            "organiser_code": "c1",
            "service_point_code": "sp1",
            "starts_at": "2026-12-20T09:00",
            "ends_at": "2026-12-20T10:00",
        },
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/geo+json"}
    created = _json(
        server + "/api/collections/activities/items", json.dumps(feature).encode(), headers
    )
    conformance = _json(server + "/api/conformance")["conformsTo"]
    assert any("ogcapi-features-4" in c for c in conformance)
    collections = [c["id"] for c in _json(server + "/api/collections")["collections"]]
    assert {"activities", "service_points", "organisations"} <= set(collections)
    listing = _ogrinfo(f"OAPIF:{server}/api")
    for cid in collections:
        assert re.search(rf"^\d+: {re.escape(cid)}\b", listing, re.M), listing
        summary = _ogrinfo("-so", f"OAPIF:{server}/api", cid)
        matched = _json(f"{server}/api/collections/{cid}/items?limit=1")["numberMatched"]
        assert f"Feature Count: {matched}" in summary, (cid, summary)
    features = _ogrinfo("-al", "-q", f"OAPIF:{server}/api", "activities")
    assert "GDAL 读到的活动" in features, features
    assert re.search(rf"^  id \(Integer6?4?\) = {created['id']}$", features, re.M), features
