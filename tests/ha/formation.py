"""A pg_auto_failover formation on loopback (Debian `postgresql-15-auto-failover`): a monitor and
two nodes, run by the unprivileged cluster owner. No trust anywhere: djmap makes the monitor's and
the first node's data directories itself (initdb: peer on the socket, scram-sha-256 on loopback),
the second node is pg_basebackup'd from the first, and every libpq client (pg_autoctl, the
monitor's health checks, the standby's replication) reads one password file (PGPASSFILE, 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from geo.cluster import free_port, owner_user, pg_bindir

# The monitor's failure detection, tightened from its defaults (5 s checks, 20 s unhealthy).
MONITOR_CONF = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
}


@dataclass
class Formation:
    """Where the formation lives and how to reach it."""

    base: Path
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user: str | None = field(default_factory=owner_user)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    dbname: str = "djmap_ha"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        home = pwd.getpwnam(self.user).pw_dir if self.user else env.get("HOME", "/tmp")
        env.update(
            PGPASSFILE=str(self.base / "pgpass"),
            XDG_CONFIG_HOME=str(self.base / "xdg" / "config"),
            XDG_DATA_HOME=str(self.base / "xdg" / "data"),
            HOME=home,
            LC_ALL="C.UTF-8",
        )
        return env

    def _demote(self) -> None:
        if self.user is None:
            return
        entry = pwd.getpwnam(self.user)
        os.setgid(entry.pw_gid)
        os.initgroups(self.user, entry.pw_gid)
        os.setuid(entry.pw_uid)

    def run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            args, capture_output=True, text=True, env=self.env(), preexec_fn=self._demote, cwd="/"
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])} failed:\n{res.stderr[-3000:]}")
        return res

    def spawn(self, name: str, args: list[str]) -> None:
        log = (self.base / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            preexec_fn=self._demote,
            cwd="/",
            start_new_session=True,
        )

    def pgdata(self, name: str) -> Path:
        return self.base / name

    def url(self, port: int, dbname: str | None = None) -> str:
        return (
            f"postgresql://postgres:{self.password}@127.0.0.1:{port}/{dbname or self.dbname}"
            "?sslmode=disable"
        )

    def multi_host_url(self) -> str:
        """Both nodes; libpq and asyncpg connect to whichever accepts writes."""
        a, b = self.ports["node_a"], self.ports["node_b"]
        return (
            f"postgresql://postgres:{self.password}@/{self.dbname}?host=127.0.0.1,127.0.0.1"
            f"&port={a},{b}&target_session_attrs=read-write&sslmode=disable"
        )

    def prepare(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        for name in ("pgpass", "pwfile"):
            path = self.base / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"*:*:*:*:{self.password}\n" if name == "pgpass" else self.password)
        for path in (self.base, self.base / "pgpass", self.base / "pwfile"):
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def initdb(self, name: str) -> None:
        args = [str(pg_bindir() / "initdb"), "-D", str(self.pgdata(name)), "-U", "postgres"]
        opts = ["--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8"]
        self.run([*args, *opts, f"--pwfile={self.base / 'pwfile'}", "--locale=C.UTF-8"])

    def autoctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["pg_autoctl", *args], check=check)

    def start_monitor(self) -> None:
        self.ports["monitor"] = port = free_port()
        self.initdb("monitor")
        pgdata = str(self.pgdata("monitor"))
        self.autoctl(
            "create", "monitor", "--pgdata", pgdata, "--pgport", str(port),
            "--pgctl", str(pg_bindir() / "pg_ctl"), "--hostname", "127.0.0.1",
            "--auth", "scram-sha-256", "--no-ssl",
        )  # fmt: skip
        self.autoctl(
            "config", "set", "--pgdata", pgdata, "postgresql.listen_addresses", "127.0.0.1"
        )
        self.spawn("monitor", ["pg_autoctl", "run", "--pgdata", pgdata])
        admin = self.url(port, "pg_auto_failover")
        wait_connect(admin)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER USER autoctl_node PASSWORD '{self.password}'")
            for key, value in MONITOR_CONF.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")

    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.ports['monitor']}/pg_auto_failover?sslmode=disable"

    def start_node(self, name: str, first: bool) -> None:
        self.ports[name] = port = free_port()
        if first:
            self.initdb(name)
        pgdata = str(self.pgdata(name))
        self.spawn(
            name,
            [
                "pg_autoctl", "create", "postgres", "--pgdata", pgdata, "--pgport", str(port),
                "--pgctl", str(pg_bindir() / "pg_ctl"), "--hostname", "127.0.0.1",
                "--listen", "127.0.0.1", "--auth", "scram-sha-256", "--no-ssl",
                "--monitor", self.monitor_uri(), "--dbname", self.dbname, "--name", name,
                "--run",
            ],
        )  # fmt: skip

    def set_node_passwords(self, name: str) -> None:
        with psycopg.connect(self.url(self.ports[name], "postgres"), autocommit=True) as conn:
            for role in ("pgautofailover_replicator", "pgautofailover_monitor"):
                conn.execute(f"ALTER USER {role} PASSWORD '{self.password}'")
            # The standby's pg_basebackup asks for a spread checkpoint: finish it at once.
            conn.execute("ALTER SYSTEM SET checkpoint_completion_target = 0")
            conn.execute("SELECT pg_reload_conf()")

    def states(self) -> dict[str, str]:
        res = self.autoctl("show", "state", "--monitor", self.monitor_uri(), "--json", check=False)
        try:
            nodes = json.loads(res.stdout)
        except ValueError:
            return {}
        found = {}
        for n in nodes:
            name = n.get("nodename") or n.get("node_name") or n.get("name")
            now = n.get("reported_state") or n.get("current_group_state")
            goal = n.get("goal_state") or n.get("assigned_group_state")
            found[str(name)] = f"{now}/{goal}"
        return found

    def wait_states(self, wanted: dict[str, str], seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while True:
            found = self.states()
            if all(found.get(k, "").startswith(f"{v}/{v}") for k, v in wanted.items()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"formation not in {wanted}: {found}")
            time.sleep(0.5)

    def kill(self, name: str) -> None:
        """SIGKILL a node: its pg_autoctl and its postmaster (a machine that dies)."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        pidfile = self.pgdata(name) / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


def wait_connect(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
