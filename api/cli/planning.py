"""`djmap grids check|coverage` (党建网格, issue 14 §4) and `djmap report coverage` (the
printable A4 report, §6)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg
import typer

from api.cli.analysis import _bbox
from api.cli.common import cli_errors, console, database_url
from geo.db import Direct
from geo.errors import InvalidInput
from geo.planning import grid_coverage, grids
from geo.planning.scenario_changes import Changes
from geo.scope import Principal

grids_app = typer.Typer(help="党建网格 (party-building grids): checks and coverage.",
                        no_args_is_help=True)  # fmt: skip
report_app = typer.Typer(help="Printable reports (A4 PDF).", no_args_is_help=True)
ADMIN = Principal(role="admin")  # the CLI runs on the server; it writes aggregates only


@grids_app.command("check")
def grids_check(
    tolerance: float = typer.Option(grids.OVERLAP_TOLERANCE_M2, help="overlap allowed, m²"),
) -> None:
    """Every grid has a branch; no two overlap by more than the tolerance. Prints the report
    as JSON; exit code 2 when something is found (nothing is changed)."""
    with cli_errors(), psycopg.connect(database_url()) as conn:
        found = grids.check(conn, tolerance)
    print(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
    if not found.ok:
        console.print(
            f"[yellow]{len(found.without_branch)} grid(s) without a branch, "
            f"{len(found.overlaps)} overlapping pair(s)[/yellow]"
        )
        raise typer.Exit(2)


@grids_app.command("coverage")
def grids_coverage(
    minutes: float = typer.Option(15.0, help="the circle, in minutes of walking"),
    mode: str = typer.Option("walk", help="walk or straight"),
) -> None:
    """Compute each grid's coverage and store it (the grids layer shows it)."""
    if mode not in ("walk", "straight") or not 0 < minutes <= 240:
        raise typer.BadParameter("mode is walk or straight, minutes 1 to 240")
    with cli_errors(), psycopg.connect(database_url()) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        figures = grid_coverage.refresh(conn, ADMIN, minutes, mode)
    console.print(f"coverage of {len(figures)} grid(s) stored")


async def _scenario(url: str, scenario_id: int) -> Changes | None:
    """A scenario's merged changes (geo/planning/scenarios.py, read as an admin)."""
    import asyncpg

    from geo.planning import scenarios

    conn = await asyncpg.connect(url)
    try:
        return await scenarios.changes_for(conn, ADMIN, scenario_id)
    finally:
        await conn.close()


@report_app.command("coverage")
def report_coverage(
    district: str = typer.Option(None, help="district code"),
    bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat"),
    scenario: int = typer.Option(None, help="a planning scenario's id (/api/scenarios)"),
    minutes: float = typer.Option(15.0, help="the circle, in minutes of walking"),
    lang: str = typer.Option("zh-CN", help="zh-CN or en"),
    out: Path = typer.Option(Path("report.pdf"), help="the PDF to write"),
) -> None:
    """The A4 coverage report: maps, headline figures, proposals, per-site catchments (5/10/15
    minutes), grids with their coverage, data versions and date."""
    from geo.planning import report
    from web import report as printed

    with cli_errors():
        if not 0 < minutes <= 240:
            raise InvalidInput("minutes must be between 1 and 240")
        url = database_url()
        changes = asyncio.run(_scenario(url, scenario)) if scenario is not None else None
        req = report.ReportRequest(district, _bbox(bbox), scenario, minutes)
        data = report.collect(Direct(url), req, ADMIN, changes)
        out.write_bytes(printed.pdf(data, lang))  # PrintFailed is a DjmapError: exit 1
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add `djmap grids` and `djmap report`."""
    app.add_typer(grids_app, name="grids")
    app.add_typer(report_app, name="report")
