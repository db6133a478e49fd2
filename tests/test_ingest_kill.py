"""A `djmap import` killed with SIGKILL in the middle of writing leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

ROWS = 300_000
WRITING = (
    "SELECT pid, left(query, 40) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'INSERT INTO \"members\"%%'"
)
# Client backends on the test database other than this one and those there before the import
# (a server or pool of an earlier test on this worker may hold idle connections).
BACKENDS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND pid <> ALL(%s)"
)
PRESENT = (
    "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_type = 'client backend'"
)


def big_members_csv(path: Path) -> None:
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "external_id": [f"K{i:07d}" for i in range(ROWS)],
            "name": "测试",
            "branch_code": [f"KB{b}" for b in rng.integers(0, 10, ROWS)],
            "status": "正式",
            "joined": "2020-01-01",
            "lon": rng.uniform(120.1, 120.2, ROWS).round(6),
            "lat": rng.uniform(30.2, 30.3, ROWS).round(6),
        }
    ).to_csv(path, index=False)


def wait_for(conn: psycopg.Connection, query: str, test, timeout: float = 90.0, args=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(query, args).fetchone()
        if test(row):
            return row
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting on {query!r}")


def test_sigkill_mid_write_leaves_no_rows(clean_db: str, tmp_path: Path):
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) "
            "SELECT 'KB' || i, '支部' || i, '党支部', ST_SetSRID(ST_MakePoint(120.15, 30.25), 4326) "
            "FROM generate_series(0, 9) i"
        )
    path = tmp_path / "big.csv"
    big_members_csv(path)
    env = {**os.environ, "DJMAP_DATABASE_URL": clean_db}
    with psycopg.connect(clean_db) as conn:
        present = conn.execute(PRESENT).fetchone()[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "import", "members", str(path), "--no-progress"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with psycopg.connect(clean_db, autocommit=True) as conn:
            wait_for(conn, WRITING, lambda r: r is not None or proc.poll() is not None)
            assert proc.poll() is None, "the import finished before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            # the server notices the dead client and rolls the transaction back
            wait_for(conn, BACKENDS, lambda r: r[0] == 0, args=(present,))
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM imports)"
            ).fetchone()
            assert counts == (0, 0)
            indexes = {
                r[0]
                for r in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'members'"
                )
            }
            assert {"members_home_gist", "members_branch_idx", "members_external_id_key"} <= indexes
            fkeys = conn.execute(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'members'::regclass AND contype = 'f'"
            ).fetchone()
            assert fkeys == (1,)
            temp = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relname = 'staging'"
            ).fetchone()
            assert temp == (0,)
    finally:
        if proc.poll() is None:
            proc.kill()
