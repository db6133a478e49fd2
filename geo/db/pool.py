"""Connections for request paths: a bounded wait for a pooled connection, a statement_timeout per
request class, and the one place that says which driver errors mean "the database is away".

Every pool that serves requests is a `GuardedPool`: `acquire()` waits at most `acquire_timeout`
seconds and turns a failed wait or connect into `Unavailable` (HTTP 503 with Retry-After), so no
route handles these errors itself. Errors raised mid-statement (the server shut down under a query,
a statement_timeout) are turned into the same 503 by `as_unavailable()`, which the app's one error
mapping calls (api/errors.py). `STATE` is whether this process can reach the database: it logs one
line when the database goes away and one when it is back, never a traceback per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import asyncpg
import psycopg
import psycopg.errors

from geo.errors import Unavailable

log = logging.getLogger("djmap.db")
T = TypeVar("T")
RETRY_AFTER = 2  # seconds a 503 asks a client to wait while the database is away
SETTLE_S = 0.5  # "back" needs a success begun this long after the last failure (no flapping)
CONNECT_TIMEOUT = 10.0  # seconds for one new connection (a pool's wait is shorter still)

# A statement ran past its request class's statement_timeout (or was cancelled).
TIMEOUT_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.QueryCanceledError,
    psycopg.errors.QueryCanceled,
)
# The server is up but has no room: too many clients, or no pooled connection free in time.
BUSY_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.TooManyConnectionsError,
    psycopg.errors.TooManyConnections,
    TimeoutError,  # asyncio's too: pool waits, client-side statement timeouts
)
# The server cannot be reached: refused, reset, shutting down, starting up, restarted.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,  # ConnectionRefusedError, ConnectionResetError, BrokenPipeError …
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError …
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.InternalClientError,  # a use of a connection the server dropped a moment ago
    asyncpg.exceptions.OperatorInterventionError,  # AdminShutdown, CannotConnectNow, CrashShutdown
    psycopg.OperationalError,  # the sync driver's refused or lost connection
)
# Two transactions locked each other out (the server chose this one to abort): run it again.
CONTENTION_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
)
# Every driver error the app maps to 503 (api/errors.py registers a handler for each).
DRIVER_ERRORS = TIMEOUT_ERRORS + BUSY_ERRORS + OUTAGE_ERRORS + CONTENTION_ERRORS


class DatabaseState:
    """Whether this process reaches the database; one log line per outage and one per recovery."""

    def __init__(self) -> None:
        self.down_since: float | None = None  # time.monotonic() of the first failure
        self.last_failure = 0.0
        self.failures = 0

    @property
    def down(self) -> bool:
        """True between a failure to reach the database and the next success."""
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """Note a failure to reach the database (logged once per outage)."""
        self.failures += 1
        self.last_failure = time.monotonic()
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "database unavailable since %s (process %d, %s: %s); cached content is served, "
                "other requests get 503",
                datetime.now(UTC).isoformat(timespec="seconds"),
                os.getpid(),
                type(exc).__name__,
                str(exc).strip() or "-",
            )

    def succeeded(self, since: float) -> None:
        """Note work that began at monotonic time `since` and reached the database."""
        if self.down_since is None or since < self.last_failure + SETTLE_S:
            return  # while connections still fail around it, one success proves nothing yet
        log.warning(
            "database back after %.1f s (process %d, %d failed attempts meanwhile)",
            time.monotonic() - self.down_since,
            os.getpid(),
            self.failures,
        )
        self.down_since = None
        self.failures = 0


STATE = DatabaseState()  # one per process: every pool and listener of the process reports here


def as_unavailable(exc: BaseException) -> Unavailable | None:
    """The 503 a driver error stands for (None when it is not about the database's reach).

    An error that means the database is away is also noted in `STATE`."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, TIMEOUT_ERRORS):
        return Unavailable(
            "the query ran past this request's time limit (statement_timeout); "
            "try again later or ask for less",
            retry_after=5,
        )
    if isinstance(exc, CONTENTION_ERRORS):
        return Unavailable("another change held the same rows; try again", retry_after=1)
    if isinstance(exc, BUSY_ERRORS):
        return Unavailable("the database is busy: no connection was free in time", retry_after=1)
    if isinstance(exc, OUTAGE_ERRORS):
        STATE.failed(exc)
        return Unavailable(
            "the database is unavailable (down or restarting); try again shortly",
            retry_after=RETRY_AFTER,
        )
    return None


async def retried(step: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
    """Run a transaction `step` again when the server aborted it for a deadlock or a
    serialization failure (each try is a whole new transaction); the last failure propagates
    (a 503 with Retry-After, see `as_unavailable`)."""
    for attempt in range(1, attempts + 1):
        try:
            return await step()
        except CONTENTION_ERRORS:
            if attempt == attempts:
                raise
            log.info("transaction aborted by contention (try %d of %d); again", attempt, attempts)
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def reraise(exc: BaseException) -> None:
    """Raise `exc` as `Unavailable` when it is a driver error that means 503 (else return)."""
    err = as_unavailable(exc)
    if err is not None and err is not exc:
        raise err from exc


class _Acquire:
    """`pool.acquire()` of a GuardedPool: asyncpg's context, its failures turned into 503s."""

    __slots__ = ("_ctx", "_since")

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._since = 0.0

    async def __aenter__(self) -> Any:
        self._since = time.monotonic()
        try:
            return await self._ctx.__aenter__()
        except Exception as exc:
            reraise(exc)
            raise

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._ctx.__aexit__(et, ev, tb)
        except Exception:  # asyncpg terminated the connection; the pool makes a new one
            return  # the body's own outcome stands: its answer is complete, or its error reported
        if et is None:
            STATE.succeeded(self._since)

    def __await__(self) -> Generator[Any, None, Any]:
        return self._enter().__await__()

    async def _enter(self) -> Any:
        try:
            return await self._ctx
        except Exception as exc:
            reraise(exc)
            raise


class GuardedPool(asyncpg.Pool):  # type: ignore[misc]
    """An asyncpg pool whose connections are waited for `acquire_timeout` seconds at most."""

    acquire_timeout: float = 2.0

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        """A pooled connection (`async with`): Unavailable (503) when none comes in time."""
        return _Acquire(
            super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)
        )


Hook = Callable[[asyncpg.Connection], Awaitable[None]]
# asyncpg's prepared-statement cache per connection (its default); the app's lifespan sets
# DJMAP_STATEMENT_CACHE here before it makes a pool (0 behind pgbouncer in transaction mode).
STATEMENT_CACHE = {"size": 100}


def use_statement_cache(size: int) -> None:
    """Every pool made from now on caches `size` prepared statements per connection."""
    STATEMENT_CACHE["size"] = size


async def create_pool(
    dsn: str,
    *,
    min_size: int,
    max_size: int,
    acquire_timeout: float,
    statement_timeout: float,
    init: Hook | None = None,
    reset: Hook | None = None,
) -> GuardedPool:
    """A GuardedPool whose sessions start with `statement_timeout` seconds (0 = none)."""
    pool = GuardedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=init,
        reset=reset,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=CONNECT_TIMEOUT,
        statement_cache_size=STATEMENT_CACHE["size"],
        server_settings={"statement_timeout": str(milliseconds(statement_timeout))},
    )
    pool.acquire_timeout = acquire_timeout
    quiet_floor_warnings()
    await pool
    return pool


class _OutageFilter(logging.Filter):
    """Drops asyncpg's traceback per failed reconnect of a pool's floor while the database is
    away (requests that meet the outage log it once, through STATE)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, OUTAGE_ERRORS + BUSY_ERRORS)


def quiet_floor_warnings() -> None:
    """Install the filter on asyncpg's pool logger (once)."""
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _OutageFilter) for f in pool_log.filters):
        pool_log.addFilter(_OutageFilter())


def milliseconds(seconds: float) -> int:
    """A duration in whole milliseconds, as statement_timeout takes it."""
    return max(0, round(seconds * 1000))


async def set_statement_timeout(conn: asyncpg.Connection, seconds: float) -> None:
    """Give the rest of this connection's use another statement_timeout (a pool's reset, RESET
    ALL, brings back the pool's own when the connection goes back)."""
    await conn.execute(f"SET statement_timeout = {milliseconds(seconds)}")


def timed_url(url: str, statement_timeout: float, connect_timeout: float = 5.0) -> str:
    """The libpq URL with a session statement_timeout and a connect timeout (for psycopg)."""
    parts = urlsplit(url)
    given = dict(parse_qsl(parts.query))
    options = f"{given.pop('options', '')} -c statement_timeout={milliseconds(statement_timeout)}"
    given.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
    given["options"] = options.strip()
    return urlunsplit(parts._replace(query=urlencode(given, quote_via=quote)))


CLOSE_S = 5.0  # how long a shutdown step may wait before it is cut short


async def close_within(step: Awaitable[Any], name: str, seconds: float = CLOSE_S) -> bool:
    """Await one shutdown step for at most `seconds`; False (and one log line) when cut short.

    A connection still checked out (a request abandoned mid-flight) makes asyncpg's graceful
    `Pool.close()` wait for ever; shutting down must not hang on it. `asyncio.wait_for` is no
    bound here: on time-out it waits for the cancelled step to finish, and a step that swallows
    the cancellation (a reconnect loop, a shielded close) never does. The step is cancelled and
    left behind instead."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        if not task.cancelled() and task.exception() is not None:
            log.warning("shutdown: %s failed: %r", name, task.exception())
        return True
    task.cancel()
    log.warning("shutdown: %s did not finish in %.0f s; cut short", name, seconds)
    return False


async def close_pool(pool: asyncpg.Pool, seconds: float = CLOSE_S) -> None:
    """Close a pool gracefully, or terminate its connections after `seconds`."""
    if not await close_within(pool.close(), "closing a connection pool", seconds):
        pool.terminate()
