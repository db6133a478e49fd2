"""`djmap db replica up|down|status` and `djmap db bouncer up|down`: a streaming replica and a
pgbouncer of the embedded cluster, for development and the scale tests (docs/SCALE.md)."""

from __future__ import annotations

import json

import typer

from api.cli.common import cli_errors, console
from geo.bouncer import Bouncer
from geo.cluster import Cluster
from geo.cluster_auth import redact
from geo.cluster_replica import replica_of
from geo.db import embedded_cluster
from geo.errors import ClusterError
from geo.settings import get_db_settings

replica_app = typer.Typer(help="A streaming replica of the embedded cluster (reads).")
bouncer_app = typer.Typer(help="pgbouncer (transaction mode) in front of the embedded cluster.")
NAME = typer.Option("replica1", help="the replica's name (its folder under DJMAP_HOME/replicas)")
PORT = typer.Option(None, help="its port (default: the primary's + 1)")


def _primary() -> Cluster:
    settings = get_db_settings()
    if not settings.embedded:
        raise ClusterError(
            "DJMAP_DATABASE_URL is set: djmap manages replicas of its embedded cluster only "
            "(make a replica of that server with pg_basebackup -R and list it in DJMAP_REPLICA_URLS)"
        )
    return embedded_cluster(settings)


@replica_app.command("up")
def replica_up(name: str = NAME, port: int | None = PORT) -> None:
    """Copy the running embedded cluster (pg_basebackup -R), start it and print its URL (for
    DJMAP_REPLICA_URLS)."""
    with cli_errors():
        replica = replica_of(_primary(), name, port)
        started = replica.start()
        console.print(("started " if started else "already running ") + redact(replica.url))
        typer.echo(replica.url)


@replica_app.command("down")
def replica_down(name: str = NAME, port: int | None = PORT) -> None:
    """Stop the replica (its data stays: `up` starts it again and it catches up)."""
    with cli_errors():
        stopped = replica_of(_primary(), name, port).stop()
        console.print("stopped" if stopped else "not running")


@replica_app.command("status")
def replica_status(name: str = NAME, port: int | None = PORT) -> None:
    """The replica's state as JSON."""
    with cli_errors():
        typer.echo(json.dumps(replica_of(_primary(), name, port).status(), indent=2))


BOUNCER_PORT = typer.Option(None, help="pgbouncer's port (default: the primary's + 100)")


@bouncer_app.command("up")
def bouncer_up(port: int | None = BOUNCER_PORT, replica: str = NAME) -> None:
    """Start pgbouncer in front of the cluster (and its replica, when it exists); print the URLs
    to use with DJMAP_STATEMENT_CACHE=0."""
    with cli_errors():
        primary = _primary()
        mirror = replica_of(primary, replica)
        bouncer = Bouncer(
            primary,
            port or primary.port + 100,
            mirror.port if mirror.initialised() else None,
        )
        started = bouncer.start()
        console.print(
            ("started" if started else "already running")
            + " pgbouncer (transaction mode); asyncpg needs DJMAP_STATEMENT_CACHE=0 behind it"
        )
        typer.echo(f"DJMAP_DATABASE_URL={bouncer.url()}")
        if bouncer.replica_port is not None:
            typer.echo(f"DJMAP_REPLICA_URLS={bouncer.url(replica=True)}")


@bouncer_app.command("down")
def bouncer_down(port: int | None = BOUNCER_PORT) -> None:
    """Stop pgbouncer."""
    with cli_errors():
        primary = _primary()
        stopped = Bouncer(primary, port or primary.port + 100).stop()
        console.print("stopped" if stopped else "not running")
