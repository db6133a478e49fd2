"""Lifecycle of the embedded PostgreSQL + PostGIS cluster that djmap runs under `.djmap/`.

initdb refuses to run as root, so when djmap runs as root the cluster belongs to an
unprivileged OS user (``postgres`` when the OS packages made it, else ``djmap``). Every
connection must give the generated superuser password (scram-sha-256, see geo.cluster_auth).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from geo.cluster_auth import (
    HBA,
    ensure_password,
    hba_current,
    read_password,
    redact,
    with_password,
)
from geo.errors import ClusterError

PG_VERSION = "15"
EXTENSIONS = ("postgis", "postgis_raster", "postgis_sfcgal", "pgrouting")
# Passed as -c options at every start, so an existing cluster picks up changes here.
SERVER_CONF = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    "jit": "off",
    "synchronous_commit": "off",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "log_min_messages": "warning",
    "timezone": "UTC",
    # A killed client (e.g. a SIGKILLed import) makes its running statement abort within
    # seconds instead of running to the end while holding its locks.
    "client_connection_check_interval": "2s",
}


def pg_bindir() -> Path:
    """Folder of the PostgreSQL server programs (initdb, pg_ctl, postgres)."""
    candidates = [Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")]
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ClusterError(
        f"PostgreSQL {PG_VERSION} server programs not found; install them with: apt-get install "
        f"postgresql-{PG_VERSION} postgresql-{PG_VERSION}-postgis-3 postgresql-{PG_VERSION}-pgrouting"
    )


def _run_as(user: str | None, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    """Run a server program as the cluster owner (dropping root), capturing its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    if user is None:
        return subprocess.run(args, capture_output=True, text=True, env=env, check=False, **kw)  # type: ignore[call-overload]
    entry = pwd.getpwnam(user)

    def demote() -> None:
        os.setgid(entry.pw_gid)
        os.initgroups(user, entry.pw_gid)
        os.setuid(entry.pw_uid)

    env["HOME"] = entry.pw_dir
    return subprocess.run(  # type: ignore[call-overload]
        args,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        preexec_fn=demote,
        cwd="/",
        **kw,
    )


def owner_user() -> str | None:
    """The OS user that owns the cluster: None when we are not root, else a system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "djmap"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "djmap"],
        check=True,
        capture_output=True,
    )
    return "djmap"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A private PostgreSQL cluster: data under ``home``, socket in a short /tmp folder."""

    home: Path
    port: int
    dbname: str = "djmap"
    superuser: str = "postgres"

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        # The password stays in the home we were given (the running user's), even when the
        # data moves below to a folder the cluster owner can reach.
        self.auth_home = self.home
        self.user = owner_user()
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
        # Unix socket paths are limited to ~107 bytes, so the socket lives in a short folder.
        self.socket_dir = Path(f"/tmp/djmap-{digest}")
        if self.user is not None and not self._reachable(self.home):
            # A checkout under a closed folder (e.g. /root) cannot hold a cluster the
            # unprivileged owner runs: keep the data in a per-checkout folder it can reach.
            self.home = Path(f"/var/lib/djmap/{digest}")

    def _reachable(self, path: Path) -> bool:
        """True when the cluster owner can traverse every existing ancestor of path."""
        probe = path
        while not probe.exists():
            probe = probe.parent
        res = _run_as(self.user, ["test", "-x", str(probe)])
        return res.returncode == 0

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self.home / "pgdata"

    @property
    def logfile(self) -> Path:
        """Server log (kept beside the data directory)."""
        return self.home / "postgres.log"

    @property
    def url(self) -> str:
        """libpq URL of the cluster's database over loopback TCP, password included."""
        return self._url(self.dbname)

    def _url(self, dbname: str) -> str:
        base = f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"
        return with_password(base, read_password(self.auth_home))

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.home.parent == Path("/var/lib/djmap"):
            self.home.parent.chmod(0o755)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.socket_dir)
        self._chown(self.home)
        if self.user is not None:
            # The owner must be able to reach the home folder through its parents.
            probe = _run_as(self.user, ["test", "-w", str(self.home)])
            if probe.returncode != 0:
                raise ClusterError(
                    f"user {self.user!r} cannot write {self.home}: a parent folder is closed to it. "
                    "Set DJMAP_HOME to a folder it can reach (for example /var/tmp/djmap)."
                )

    def initialised(self) -> bool:
        """True when initdb has run."""
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the data directory with initdb (once)."""
        if self.initialised():
            return
        self._prepare_dirs()
        pwfile = self.home / ".initdb-password"
        pwfile.unlink(missing_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(ensure_password(self.auth_home) + "\n")
        self._chown(pwfile)  # initdb runs as the cluster owner and must read it
        initdb = [str(pg_bindir() / "initdb"), "-D", str(self.datadir), "-U", self.superuser]
        opts = ["-A", "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"]
        try:
            res = _run_as(self.user, [*initdb, *opts])
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise ClusterError(f"initdb failed:\n{res.stderr or res.stdout}")
        (self.datadir / "pg_hba.conf").write_text(HBA)

    def running(self) -> bool:
        """True when this cluster's postmaster is alive (per pg_ctl status)."""
        if not self.initialised():
            return False
        res = _run_as(self.user, [str(pg_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)])
        return res.returncode == 0

    def _recover_stale_pid(self) -> None:
        pidfile = self.datadir / "postmaster.pid"
        if pidfile.exists() and not self.running():
            pidfile.unlink()

    def start(self) -> bool:
        """Start the server; returns False when it was already running."""
        self.init()
        self._prepare_dirs()
        if self.running():
            self._secure_online()
            return False
        self._recover_stale_pid()
        self._secure_offline()
        if port_in_use(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is already taken by another program; "
                "set DJMAP_DB_PORT to a free port"
            )
        settings = " ".join(f"-c {key}={value}" for key, value in SERVER_CONF.items())
        opts = f"-p {self.port} -k {self.socket_dir} {settings}"
        res = _run_as(
            self.user,
            [
                str(pg_bindir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-o",
                opts,
            ],
        )
        if res.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"pg_ctl start failed:\n{res.stderr or res.stdout}\n{tail}")
        self._wait_ready()
        self.ensure_database()
        return True

    def _secure_offline(self) -> None:
        """Before a start: turn a cluster made with trust (or whose password file was lost)
        into a scram-only one, setting the password in single-user mode (no trust window)."""
        if hba_current(self.datadir) and read_password(self.auth_home) is not None:
            return
        password = ensure_password(self.auth_home).replace("'", "''")
        stmt = f"ALTER ROLE \"{self.superuser}\" PASSWORD '{password}';\n"
        res = _run_as(
            self.user,
            [str(pg_bindir() / "postgres"), "--single", "-D", str(self.datadir), "postgres"],
            input=stmt,
        )
        if res.returncode != 0 or "ERROR" in res.stdout + res.stderr:
            raise ClusterError(f"setting the cluster password failed:\n{res.stderr or res.stdout}")
        (self.datadir / "pg_hba.conf").write_text(HBA)

    def _secure_online(self) -> None:
        """A running cluster made with trust (older djmap): set the password, rewrite
        pg_hba.conf and reload, so no local user gets in without the password from now on."""
        if hba_current(self.datadir):
            if read_password(self.auth_home) is None:
                raise ClusterError(
                    f"the cluster password file {self.auth_home}/db_password is missing: stop the "
                    "cluster (djmap db down) and start it again (djmap db up) to set a new one"
                )
            return
        password = ensure_password(self.auth_home)
        with psycopg.connect(self._url("postgres"), autocommit=True) as conn:
            verifier = conn.pgconn.encrypt_password(
                password.encode(), self.superuser.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(self.superuser), sql.Literal(verifier.decode())
                )
            )
            (self.datadir / "pg_hba.conf").write_text(HBA)
            conn.execute("SELECT pg_reload_conf()")

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        admin = self._url("postgres")
        while True:
            try:
                with psycopg.connect(admin, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def ensure_database(self) -> None:
        """Create the database (once); extensions come with `djmap migrate`."""
        with psycopg.connect(self._url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def stop(self) -> bool:
        """Stop the server cleanly; returns False when it was not running."""
        if not self.running():
            self._recover_stale_pid() if self.initialised() else None
            return False
        res = _run_as(
            self.user,
            [str(pg_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.datadir)],
        )
        if res.returncode != 0:
            raise ClusterError(f"pg_ctl stop failed:\n{res.stderr or res.stdout}")
        return True

    def status(self) -> dict[str, object]:
        """What is true right now: initialised, running, port, data directory, URL."""
        return {
            "initialised": self.initialised(),
            "running": self.running(),
            "port": self.port,
            "datadir": str(self.datadir),
            "url": redact(self.url),
        }

    def destroy(self) -> None:
        """Stop and delete the cluster (used by throwaway test clusters)."""
        with contextlib.suppress(ClusterError):
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
