"""A local pgbouncer in transaction mode in front of the embedded cluster and its replica
(`djmap db bouncer up|down`), run as the cluster's unprivileged owner (pgbouncer refuses root).

Debian 12 ships pgbouncer 1.18, which does not keep prepared statements across transactions
(`max_prepared_statements` came in 1.21): djmap's asyncpg pools must then run with
`DJMAP_STATEMENT_CACHE=0` (unnamed statements only). pgbouncer passes no session settings in
transaction mode, so the startup parameters djmap sends (statement_timeout, jit) are ignored by
name and set instead on every server connection by `connect_query`. LISTEN needs a session: the
version tracker and the event stream must reach PostgreSQL directly (see docs/SCALE.md).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from geo.cluster import Cluster, _run_as, port_in_use
from geo.cluster_auth import read_password, with_password
from geo.errors import ClusterError


class Bouncer:
    """pgbouncer's files under `<home>/bouncer/` and its process (see the module docstring)."""

    def __init__(self, primary: Cluster, port: int, replica_port: int | None = None) -> None:
        self.primary, self.port, self.replica_port = primary, port, replica_port
        self.dir = primary.home / "bouncer"

    @property
    def pidfile(self) -> Path:
        """pgbouncer's pid file (written by its -d daemon mode)."""
        return self.dir / "pgbouncer.pid"

    def url(self, replica: bool = False) -> str:
        """The libpq URL of the primary (or the replica) through the bouncer."""
        name = f"{self.primary.dbname}_replica" if replica else self.primary.dbname
        base = f"postgresql://{self.primary.superuser}@127.0.0.1:{self.port}/{name}"
        return with_password(base, read_password(self.primary.auth_home))

    def config(self, statement_timeout_ms: int = 5000) -> str:
        """The text of pgbouncer.ini."""
        query = f"connect_query='SET jit = off; SET statement_timeout = {statement_timeout_ms}'"
        db = self.primary.dbname
        lines = [
            "[databases]",
            f"{db} = host=127.0.0.1 port={self.primary.port} dbname={db} {query}",
        ]
        if self.replica_port is not None:
            lines.append(
                f"{db}_replica = host=127.0.0.1 port={self.replica_port} dbname={db} {query}"
            )
        lines += [
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = scram-sha-256",
            f"auth_file = {self.dir / 'userlist.txt'}",
            "pool_mode = transaction",
            "max_client_conn = 2000",
            "default_pool_size = 40",
            "ignore_startup_parameters = extra_float_digits,statement_timeout,jit,options",
            f"logfile = {self.dir / 'pgbouncer.log'}",
            f"pidfile = {self.pidfile}",
            f"admin_users = {self.primary.superuser}",
        ]
        return "\n".join(lines) + "\n"

    def _write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        self.primary._chown(path)
        return path

    def running(self) -> int | None:
        """pgbouncer's pid when it runs."""
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self, statement_timeout_ms: int = 5000) -> bool:
        """Write the configuration and start pgbouncer (False: it was running already)."""
        if self.running() is not None:
            return False
        password = read_password(self.primary.auth_home)
        if password is None:
            raise ClusterError(
                "the cluster's password file is missing: start it first (djmap db up)"
            )
        if port_in_use(self.port):
            raise ClusterError(f"port {self.port} is taken; set DJMAP_BOUNCER_PORT to a free port")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.primary._chown(self.dir)
        user = self.primary.superuser.replace('"', '""')
        self._write("userlist.txt", f'"{user}" "{password.replace(chr(34), chr(34) * 2)}"\n')
        ini = self._write("pgbouncer.ini", self.config(statement_timeout_ms))
        res = _run_as(self.primary.user, ["pgbouncer", "-d", "-q", str(ini)])
        if res.returncode != 0:
            raise ClusterError(f"pgbouncer failed to start:\n{res.stderr or res.stdout}")
        deadline = time.monotonic() + 10
        while not port_in_use(self.port):
            if time.monotonic() > deadline:
                raise ClusterError(f"pgbouncer did not listen on {self.port}: see {ini.parent}")
            time.sleep(0.05)
        return True

    def stop(self) -> bool:
        """Stop pgbouncer (False: it was not running)."""
        pid = self.running()
        if pid is None:
            return False
        os.kill(pid, signal.SIGINT)  # SIGINT: safe shutdown, waits for transactions to end
        deadline = time.monotonic() + 10
        while self.running() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return True
