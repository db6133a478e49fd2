"""`djmap reminders run [--date D]`: what falls due within each rule's reminder days and what is
overdue, one reminder per item for each secretary (geo/health/reminders.py); for cron (the
server also runs it daily at DJMAP_REMINDERS_AT)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated

import asyncpg
import typer

from api.cli.common import cli_errors, console, database_url
from geo.errors import InvalidInput
from geo.health import clock
from geo.health import reminders as core

reminders_app = typer.Typer(
    help="Reminders (自动提醒) to secretaries: due within 7 days (换届: 6 months) or overdue.",
    no_args_is_help=True,
)


def _day(text: str | None) -> date:
    if text is None:
        return clock.today()
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InvalidInput(f"--date must be YYYY-MM-DD, got {text!r}") from exc


async def _run(url: str, day: date) -> core.RunResult:
    conn = await asyncpg.connect(url)
    try:
        return await core.run(conn, day)
    finally:
        await conn.close()


@reminders_app.command("run")
def run(
    day: Annotated[
        str | None, typer.Option("--date", help="the day to run for (YYYY-MM-DD; default today)")
    ] = None,
) -> None:
    """Create today's reminders (a second run the same day creates nothing) and withdraw those
    fulfilled meanwhile; prints what it did as JSON."""
    with cli_errors():
        result = asyncio.run(_run(database_url(), _day(day)))
    out = {
        "date": result.day.isoformat(),
        "created": result.created,
        "withdrawn": result.withdrawn,
        "open": result.open,
    }
    typer.echo(json.dumps(out))
    console.print(
        f"reminders {out['date']}: {result.created} created, {result.withdrawn} withdrawn"
    )


def register(app: typer.Typer) -> None:
    """Add `djmap reminders`."""
    app.add_typer(reminders_app, name="reminders")
