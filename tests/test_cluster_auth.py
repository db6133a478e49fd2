"""The embedded cluster asks every connection for its generated password (scram-sha-256).

Before, initdb ran with `-A trust`: any local OS user connecting to 127.0.0.1 was superuser.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest

from geo.cluster import Cluster, _run_as, free_port, pg_bindir
from geo.cluster_auth import PASSWORD_FILE, hba_current

TRUST_HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\n"


@pytest.fixture
def home() -> Iterator[Path]:
    """A fresh DJMAP_HOME the unprivileged cluster owner can reach."""
    path = Path(tempfile.mkdtemp(prefix="djmap-auth-"))
    path.chmod(0o755)
    yield path
    Cluster(home=path, port=free_port()).destroy()


def djmap_embedded(home: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `djmap …` on the embedded cluster in `home` (no DJMAP_DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJMAP_", "PG"))}
    env |= {"DJMAP_HOME": str(home), "DJMAP_DB_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def refused(url: str) -> str:
    """The error text of a connection attempt that must fail (no ~/.pgpass can help)."""
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(url, passfile="/nonexistent", connect_timeout=5).close()
    return str(info.value)


def test_no_password_no_entry_and_the_url_works(home: Path) -> None:
    port = free_port()
    up = djmap_embedded(home, port, "db", "up")
    assert up.returncode == 0, up.stderr
    url = djmap_embedded(home, port, "db", "url").stdout.strip()
    password = (home / PASSWORD_FILE).read_text().strip()
    assert len(password) >= 32 and f":{password}@" in url
    assert password not in up.stderr  # messages show the URL redacted
    status = djmap_embedded(home, port, "db", "status")
    assert status.returncode == 0 and password not in status.stdout

    info = (home / PASSWORD_FILE).stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    assert not (home / ".initdb-password").exists()
    owner = Cluster(home=home, port=port).user
    if owner is not None:  # djmap runs as root: the cluster's own OS user cannot read it either
        assert _run_as(owner, ["cat", str(home / PASSWORD_FILE)]).returncode != 0
    nobody = _run_as("nobody", ["cat", str(home / PASSWORD_FILE)]) if os.geteuid() == 0 else None
    assert nobody is None or nobody.returncode != 0

    assert "no password supplied" in refused(f"postgresql://postgres@127.0.0.1:{port}/djmap")
    assert "password authentication failed" in refused(
        f"postgresql://postgres:guess@127.0.0.1:{port}/postgres"
    )
    cl = Cluster(home=home, port=port)
    socket_url = f"postgresql://postgres@/postgres?host={cl.socket_dir}&port={port}"
    assert "no password supplied" in refused(socket_url)

    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)

    async def via_asyncpg() -> object:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT current_database()")
        finally:
            await conn.close()

    assert asyncio.run(via_asyncpg()) == "djmap"
    assert djmap_embedded(home, port, "db", "down").returncode == 0


def make_trust_cluster(cl: Cluster) -> None:
    """What djmap made before: initdb -A trust, no password, no password file."""
    cl._prepare_dirs()
    initdb = [str(pg_bindir() / "initdb"), "-D", str(cl.datadir), "-U", "postgres"]
    res = _run_as(cl.user, [*initdb, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
    assert res.returncode == 0, res.stderr
    assert not hba_current(cl.datadir)


def test_db_up_secures_a_stopped_trust_cluster(home: Path) -> None:
    port = free_port()
    make_trust_cluster(Cluster(home=home, port=port))
    up = djmap_embedded(home, port, "db", "up")
    assert up.returncode == 0, up.stderr
    cl = Cluster(home=home, port=port)
    assert hba_current(cl.datadir)
    assert "no password supplied" in refused(f"postgresql://postgres@127.0.0.1:{port}/djmap")
    with psycopg.connect(cl.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_db_up_secures_a_running_trust_cluster(home: Path) -> None:
    port = free_port()
    cl = Cluster(home=home, port=port)
    make_trust_cluster(cl)
    pg_ctl = [str(pg_bindir() / "pg_ctl"), "start", "-w", "-D", str(cl.datadir)]
    opts = f"-p {port} -k {cl.socket_dir} -c listen_addresses=127.0.0.1"
    res = _run_as(cl.user, [*pg_ctl, "-l", str(cl.logfile), "-o", opts])
    assert res.returncode == 0, res.stderr
    open_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    psycopg.connect(open_url, passfile="/nonexistent").close()  # the hole: anyone gets in
    up = djmap_embedded(home, port, "db", "up")
    assert up.returncode == 0, up.stderr
    assert "already running" in up.stderr
    assert "no password supplied" in refused(open_url)
    url = Cluster(home=home, port=port).url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_lost_password_file_is_replaced_on_the_next_start(home: Path) -> None:
    cl = Cluster(home=home, port=free_port())
    cl.start()
    old = cl.url
    (home / PASSWORD_FILE).unlink()
    cl.stop()
    cl.start()
    assert cl.url != old
    assert "password authentication failed" in refused(old)
    with psycopg.connect(cl.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
