"""`djmap screen-keys add|list|revoke`: keys big screens and kiosks open `/screen?key=…` with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo.screen import keys as core

app = typer.Typer(help="Screen keys for the big screen and kiosks (/screen).", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="which screen (e.g. 街道党群服务中心大厅)")],
    org: Annotated[
        str | None, typer.Option(help="organisation code: the screen shows its subtree")
    ] = None,
) -> None:
    """Create a screen key bound to a subtree (default: the whole district); prints the key."""
    with cli_errors():
        key = core.add_screen_key(database_url(), name, org)
    typer.echo(key.key)
    console.print(
        f"screen key for {name} ({key.org_code or 'whole district'}): /screen?key={key.key}"
    )


@app.command("list")
def list_() -> None:
    """List screen keys with their scope."""
    with cli_errors():
        found = core.list_screen_keys(database_url())
    table = Table("name", "key", "organisation", "active", "created")
    for k in found:
        made = k.created_at.isoformat(timespec="seconds")
        table.add_row(k.name, k.key, k.org_code or "(district)", "yes" if k.active else "no", made)
    Console().print(table)


@app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="the key")]) -> None:
    """Revoke a screen key: its screens are refused from their next request."""
    with cli_errors():
        core.revoke_screen_key(database_url(), key)
    console.print("revoked")


def register(root: typer.Typer) -> None:
    """Add this area's commands to `root`."""
    root.add_typer(app, name="screen-keys")
