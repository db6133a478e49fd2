"""`djmap db …` and `djmap migrate` as a user runs them, against the test cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg

from geo.cluster import Cluster, free_port


def djmap(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
    if url is not None:
        env["DJMAP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_db_url_prints_the_url_in_use(db_url: str) -> None:
    res = djmap("db", "url", url=db_url)
    assert res.returncode == 0
    assert res.stdout.strip() == db_url


def test_status_reachable_and_unreachable(db_url: str) -> None:
    ok = djmap("db", "status", url=db_url)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["reachable"] is True
    dead = djmap("db", "status", url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    assert dead.returncode == 3
    assert json.loads(dead.stdout)["reachable"] is False


def test_migrate_prepares_an_empty_external_database(cluster: Cluster) -> None:
    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS djmap_empty")
        conn.execute("CREATE DATABASE djmap_empty")
    url = cluster.url.rsplit("/", 1)[0] + "/djmap_empty"
    res = djmap("migrate", url=url)
    assert res.returncode == 0, res.stderr
    with psycopg.connect(url) as conn:
        exts = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    assert {"postgis", "postgis_raster", "postgis_sfcgal", "pgrouting"} <= exts
    assert {"organisations", "members", "service_points", "activities", "buildings"} <= tables
    again = djmap("migrate", url=url)  # idempotent
    assert again.returncode == 0, again.stderr


def test_external_url_never_starts_a_cluster(tmp_path: object, db_url: str) -> None:
    res = djmap("db", "up", url=db_url)
    assert res.returncode == 0
    assert "no cluster to start" in res.stderr
