"""Test set-up: a throwaway PostgreSQL + PostGIS cluster on a free port, migrated once per run.

Every test talks to this real database (no mocks). It never touches the cluster `make run` uses.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cheap_hashes import use_cheap_hashes
from web_browser import Browser

from geo import db as geodb
from geo import users as geo_users
from geo.cluster import Cluster, free_port
from geo.models import VERSIONED_TABLES

DATA_TABLES = (*VERSIONED_TABLES, "imports")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Test users get cheap argon2id hashes (tests/cheap_hashes.py: about 1 ms, not 0.2-1.2 s,
    per hash and per login); a hash carries its own parameters, so the servers the tests start
    verify them as cheaply, while production hashes keep geo.users' defaults."""
    old = use_cheap_hashes()
    yield
    geo_users._HASHER = old
    geo_users.dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A private cluster for this test run, destroyed at the end."""
    home = Path(tempfile.mkdtemp(prefix="djmap-test-"))
    home.chmod(0o755)  # the unprivileged cluster owner must reach it
    cl = Cluster(home=home / "cluster", port=free_port(), dbname="djmap_test")
    cl.start()
    yield cl
    keep_server_log(cl)
    cl.destroy()
    home.rmdir() if home.exists() and not any(home.iterdir()) else None


CRASH_MARKS = (
    "terminated by signal",
    "server process (PID",
    "PANIC",
    "all server processes terminated",
)


def keep_server_log(cl: Cluster) -> None:
    """The run's PostgreSQL log goes to test-output/ (the cluster is destroyed): a backend that
    crashed (the database then answers 'in recovery mode' for a few seconds) is named there, and
    pytest_terminal_summary prints those lines."""
    if not cl.logfile.exists():
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = Path(__file__).resolve().parent.parent / "test-output"
    out.mkdir(exist_ok=True)
    (out / f"postgres-{worker}.log").write_bytes(cl.logfile.read_bytes())


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    out = Path(__file__).resolve().parent.parent / "test-output"
    for old in out.glob("postgres-*.log"):
        old.unlink()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    out = Path(__file__).resolve().parent.parent / "test-output"
    for log in sorted(out.glob("postgres-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        crashes = [line for line in lines if any(m in line for m in CRASH_MARKS)]
        if crashes:
            terminalreporter.section(f"PostgreSQL crashes in {log.name}", sep="-")
            for line in crashes[:20]:
                terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def db_url(cluster: Cluster) -> Iterator[str]:
    """URL of the migrated test database; DJMAP_DATABASE_URL points every command at it."""
    url = cluster.url
    geodb.migrate(url)
    old = os.environ.get("DJMAP_DATABASE_URL")
    os.environ["DJMAP_DATABASE_URL"] = url
    yield url
    if old is None:
        os.environ.pop("DJMAP_DATABASE_URL", None)
    else:
        os.environ["DJMAP_DATABASE_URL"] = old


RESTARTING = ("in recovery mode", "not yet accepting connections", "is starting up")


def connect_when_up(url: str, seconds: float = 120.0) -> psycopg.Connection[Any]:
    """A connection, waiting while the server restarts after a backend crashed (a CI run saw
    one: its log, kept by keep_server_log, is printed at the end); any other error at once."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            if not any(m in str(exc) for m in RESTARTING) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def clean_db(db_url: str) -> str:
    """The test database with every data table emptied (schema kept)."""
    with connect_when_up(db_url) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
    return db_url


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Folder for artefacts a person may want to look at (screenshots, reports)."""
    path = Path(__file__).resolve().parent.parent / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district generated once per run (default counts, seed 42, today in Beijing:
    the pages' calendar, whatever the machine's time zone)."""
    from geo.health import clock
    from geo.samples import SampleSpec, generate

    out = tmp_path_factory.mktemp("samples")
    generate(SampleSpec(seed=42, today=clock.today().isoformat()), out)
    return out


@pytest.fixture(scope="session")
def sample_url(
    cluster: Cluster, sample_files: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """URL of a second database, djmap_sample, holding the loaded sample district. Read-only: never write to it."""
    from geo.samples.load import load_samples

    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'djmap_sample'").fetchone():
            conn.execute("CREATE DATABASE djmap_sample")
    url = cluster.url.rsplit("/", 1)[0] + "/djmap_sample"
    geodb.migrate(url)
    load_samples(url, sample_files, tmp_path_factory.mktemp("panoramas"), progress=False)
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module (the browser tests)."""
    b = Browser()
    yield b
    b.close()
