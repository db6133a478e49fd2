"""`djmap db up|down|status|url` and `djmap migrate`."""

from __future__ import annotations

import json

import typer

from api.cli.common import cli_errors, console, database_url
from api.cli.db_partition import partition_command
from api.cli.db_scale import bouncer_app, replica_app
from geo import db as geodb
from geo.cluster_auth import redact
from geo.settings import get_db_settings

db_app = typer.Typer(help="The database: the embedded cluster under .djmap/ or DJMAP_DATABASE_URL.")


@db_app.command("up")
def up() -> None:
    """Start the embedded PostgreSQL + PostGIS cluster (idempotent)."""
    settings = get_db_settings()
    with cli_errors():
        if not settings.embedded:
            geodb.ensure_database(settings)
            console.print(f"using external database {redact(settings.url)}; no cluster to start")
            return
        started = geodb.embedded_cluster(settings).start()
        console.print(("started " if started else "already running ") + redact(settings.url))


@db_app.command("down")
def down() -> None:
    """Stop the embedded cluster cleanly (idempotent)."""
    settings = get_db_settings()
    with cli_errors():
        if not settings.embedded:
            console.print("DJMAP_DATABASE_URL is set: djmap does not manage that server")
            return
        stopped = geodb.embedded_cluster(settings).stop()
        console.print("stopped" if stopped else "not running")


@db_app.command("status")
def status() -> None:
    """Tell whether the database is up; exit code 0 when reachable, 3 when not."""
    settings = get_db_settings()
    with cli_errors():
        if settings.embedded:
            info = geodb.embedded_cluster(settings).status()
        else:
            info = {"external": True, "url": redact(settings.url)}
        try:
            with geodb.connect(settings.url) as conn:
                conn.execute("SELECT 1")
            info["reachable"] = True
            info["revision"] = geodb.current_revision(settings.url)
        except Exception as exc:
            info["reachable"] = False
            info["error"] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
        if not info["reachable"]:
            raise typer.Exit(3)


@db_app.command("url")
def url() -> None:
    """Print the libpq URL in use (postgresql://user:password@host:port/dbname)."""
    typer.echo(get_db_settings().url)


def migrate() -> None:
    """Create the extensions and bring the schema to the newest migration."""
    with cli_errors():
        target = database_url()
        geodb.migrate(target)
        console.print(f"migrated {target} to {geodb.current_revision(target)}")


def register(app: typer.Typer) -> None:
    """Add the database commands to the main app."""
    db_app.add_typer(replica_app, name="replica")
    db_app.add_typer(bouncer_app, name="bouncer")
    db_app.command("partition")(partition_command)
    app.add_typer(db_app, name="db")
    app.command("migrate")(migrate)
