"""psycopg (sync) access, for the CLI, ingest and analysis: which database, short-lived
connections, and the pooled connections analysis runs on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from geo.cluster import Cluster
from geo.cluster_auth import redact
from geo.db.pool import STATEMENT_CACHE, timed_url
from geo.db.versions import VERSIONS_SQL, parse_versions
from geo.errors import ClusterError
from geo.settings import DatabaseSettings, get_db_settings

ANALYSIS_TIMEOUT = 60.0  # seconds: statement_timeout of an analysis connection from the CLI


class Connections(Protocol):
    """Where analysis gets its connection: a pool (the app) or one connection per run (the CLI)."""

    def connection(
        self, timeout: float | None = None
    ) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A connection for one unit of work (committed unless an error escapes)."""
        ...


@dataclass(frozen=True)
class Direct:
    """A new connection per unit of work, with a statement_timeout (the CLI, benchmarks)."""

    url: str
    statement_timeout: float = ANALYSIS_TIMEOUT

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A fresh connection, closed on exit (`timeout`: seconds to connect)."""
        url = timed_url(self.url, self.statement_timeout, timeout or 5.0)
        with psycopg.connect(url) as conn:
            yield conn


def analysis_pool(url: str, size: int, statement_timeout: float, wait: float) -> ConnectionPool:
    """An open pool of up to `size` connections for analysis (coverage), made on demand.

    `wait` bounds how long a run waits for a connection (then PoolTimeout, an OperationalError:
    503 like any outage); a connection is checked before it is handed out, so one the server
    dropped is replaced instead of failing the run. The app's lifespan opens and closes it.
    With DJMAP_STATEMENT_CACHE=0 (behind pgbouncer in transaction mode) psycopg prepares
    nothing either: a statement prepared on one server connection is unknown on the next."""
    quiet_reconnect_warnings()
    prepare = {"prepare_threshold": None} if STATEMENT_CACHE["size"] == 0 else {}
    pool = ConnectionPool(
        timed_url(url, statement_timeout),
        kwargs=prepare,
        min_size=0,
        max_size=size,
        timeout=wait,
        reconnect_timeout=wait,
        check=ConnectionPool.check_connection,
        name="analysis",
        open=False,
    )
    pool.open(wait=False)
    return pool


# psycopg_pool's warnings per failed connect or dropped connection while the database is away.
QUIET_POOL_MESSAGES = ("error connecting in", "reconnection attempt", "discarding")


class _ReconnectFilter(logging.Filter):
    """Drops psycopg_pool's warning per failed connect or dropped connection while the database
    is away (the request that meets the outage reports it once, through geo.db.pool.STATE)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(QUIET_POOL_MESSAGES)


def quiet_reconnect_warnings() -> None:
    """Install the filter on psycopg_pool's logger (once)."""
    pool_log = logging.getLogger("psycopg.pool")
    if not any(isinstance(f, _ReconnectFilter) for f in pool_log.filters):
        pool_log.addFilter(_ReconnectFilter())


def embedded_cluster(settings: DatabaseSettings) -> Cluster:
    """The embedded cluster described by the settings."""
    return Cluster(
        home=settings.home,
        port=settings.db_port,
        dbname=settings.db_name,
        superuser=settings.db_user,
    )


def ensure_database(settings: DatabaseSettings | None = None) -> str:
    """Make sure the database in use is reachable (starting the embedded cluster); return its URL."""
    settings = settings or get_db_settings()
    if settings.embedded:
        embedded_cluster(settings).start()
    try:
        with psycopg.connect(settings.url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise ClusterError(f"cannot connect to {redact(settings.url)}: {exc}".strip()) from exc
    return settings.url


@contextmanager
def connect(url: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection to `url`, closed on exit (committed unless an error escapes)."""
    with psycopg.connect(url, autocommit=autocommit) as conn:
        yield conn


def data_versions(url: str) -> dict[str, int]:
    """Current data version of every versioned table (geo/db/versions.py: the one statement)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(VERSIONS_SQL).fetchall()
    return {name: version for name, (version, _) in parse_versions(rows).items()}
