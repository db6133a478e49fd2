"""`djmap webhooks add|list|remove`: the portal's webhooks (geo/live/webhooks.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo.live import webhooks as core

webhooks_app = typer.Typer(
    help="Webhooks: events POSTed to the portal, signed (X-Djmap-Signature) and retried.",
    no_args_is_help=True,
)


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="http(s) address that receives the POSTs")],
    events: Annotated[
        list[str],
        typer.Option(help="event types: activity.*, checkin.created, * … (repeat or comma list)"),
    ],
    secret: Annotated[
        str | None, typer.Option(help="signing secret (default: a new random one)")
    ] = None,
) -> None:
    """Add a webhook; prints its id and signing secret (HMAC-SHA256 over the body)."""
    with cli_errors():
        db = database_url()
        hook = core.add_webhook(url, db, events, secret)
        key = core.secret_of(db, hook.id)
    typer.echo(json.dumps({"id": hook.id, "url": hook.url, "events": hook.events, "secret": key}))
    console.print(f"added webhook {hook.id} → {hook.url} ({', '.join(hook.events)})")


@webhooks_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """List webhooks with their deliveries: pending, delivered, failed."""
    with cli_errors():
        hooks = core.list_webhooks(database_url())
    if as_json:
        for h in hooks:
            row = {
                "id": h.id,
                "url": h.url,
                "events": list(h.events),
                "active": h.active,
                "pending": h.pending,
                "delivered": h.delivered,
                "failed": h.failed,
            }
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "url", "events", "pending", "delivered", "failed")
    for h in hooks:
        table.add_row(
            str(h.id), h.url, ", ".join(h.events), str(h.pending), str(h.delivered), str(h.failed)
        )
    Console().print(table)


@webhooks_app.command("remove")
def remove(webhook_id: Annotated[int, typer.Argument(help="the webhook's id (see list)")]) -> None:
    """Remove a webhook and its delivery records."""
    with cli_errors():
        core.remove_webhook(database_url(), webhook_id)
    console.print(f"removed webhook {webhook_id}")


def register(app: typer.Typer) -> None:
    """Add `djmap webhooks`."""
    app.add_typer(webhooks_app, name="webhooks")
