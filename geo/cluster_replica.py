"""A streaming replica of the embedded cluster (`djmap db replica up|down`), for development and
the tests: `pg_basebackup -R` over loopback into its own data directory under
`$DJMAP_HOME/replicas/<name>/`, run as the same unprivileged OS user as the primary, on its own
port. It reads the primary's password file (the copy carries the same roles) and keeps a libpq
password file of its own (mode 0600, the cluster owner's) for its replication connection, so no
password is ever on a command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from geo.cluster import Cluster, _run_as, pg_bindir
from geo.cluster_auth import read_password
from geo.errors import ClusterError

# Appended to the copy's postgresql.auto.conf (beside pg_basebackup's primary_conninfo).
STANDBY_CONF = {
    "hot_standby": "on",
    # Long reads on the replica hold back the primary's cleanup instead of being cancelled.
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "1s",
}


class ReplicaCluster(Cluster):
    """A hot standby of `primary` (see the module docstring)."""

    def __init__(self, primary: Cluster, home: Path, port: int, name: str = "replica1") -> None:
        super().__init__(home=home, port=port, dbname=primary.dbname, superuser=primary.superuser)
        self.primary = primary
        self.name = name
        self.auth_home = primary.auth_home  # the same roles and password as the primary

    @property
    def passfile(self) -> Path:
        """The replication connection's libpq password file."""
        return self.home / "pgpass"

    def _write_passfile(self) -> None:
        password = read_password(self.auth_home)
        if password is None:
            raise ClusterError(
                "the primary's password file is missing: start it first (djmap db up)"
            )
        escaped = password.replace("\\", "\\\\").replace(":", "\\:")
        self.passfile.unlink(missing_ok=True)
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"127.0.0.1:{self.primary.port}:*:{self.superuser}:{escaped}\n")
        self._chown(self.passfile)

    def init(self) -> None:
        """Copy the running primary with pg_basebackup -R (once)."""
        if self.initialised():
            return
        if not self.primary.running():
            raise ClusterError("the primary is not running: start it first (djmap db up)")
        self._prepare_dirs()
        self._write_passfile()
        conninfo = (
            f"host=127.0.0.1 port={self.primary.port} user={self.superuser} "
            f"passfile={self.passfile} application_name=djmap_{self.name}"
        )
        args = [str(pg_bindir() / "pg_basebackup"), "-D", str(self.datadir), "-d", conninfo]
        res = _run_as(self.user, [*args, "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        if res.returncode != 0:
            raise ClusterError(f"pg_basebackup failed:\n{res.stderr or res.stdout}")
        with (self.datadir / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = '{value}'\n" for key, value in STANDBY_CONF.items())

    def ensure_database(self) -> None:
        """Nothing to create: a standby holds the primary's databases."""

    def status(self) -> dict[str, object]:
        """The cluster's status and the primary it follows."""
        return {**super().status(), "primary_port": self.primary.port, "standby": True}


def replica_of(primary: Cluster, name: str = "replica1", port: int | None = None) -> ReplicaCluster:
    """The replica `name` of the embedded cluster, under its home (port: the primary's + 1)."""
    home = primary.auth_home / "replicas" / name
    return ReplicaCluster(primary, home, port or primary.port + 1, name)
