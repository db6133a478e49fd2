"""The `djmap` command line: one Typer app; each area registers its commands from its own module."""

from __future__ import annotations

import typer

from api.cli import (
    analysis,
    data,
    db,
    planning,
    reminders,
    samples,
    screen_keys,
    serve,
    tiles,
    users,
    webhooks,
)

app = typer.Typer(
    name="djmap",
    help="党建地图 djmap: a 3D party-building map service on PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for module in (
    db,
    data,
    samples,
    tiles,
    analysis,
    planning,
    users,
    webhooks,
    reminders,
    screen_keys,
    serve,
):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
