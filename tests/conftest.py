"""Test set-up: a throwaway PostgreSQL + PostGIS cluster on a free port, migrated once per run.

Every test talks to this real database (no mocks). It never touches the cluster `make run` uses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
    cl.destroy()
    home.rmdir() if home.exists() and not any(home.iterdir()) else None


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


@pytest.fixture
def clean_db(db_url: str) -> str:
    """The test database with every data table emptied (schema kept)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
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
    """The sample district generated once per run (default counts, seed 42, today's date)."""
    from datetime import date

    from geo.samples import SampleSpec, generate

    out = tmp_path_factory.mktemp("samples")
    generate(SampleSpec(seed=42, today=date.today().isoformat()), out)
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
