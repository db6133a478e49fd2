"""`djmap db partition [--dry-run]`: convert the database to the partitioned layout (members,
registrations, check-ins and events by province; docs/SCALE.md "Partitioning by province")."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo.db import partition

DRY_RUN = typer.Option(
    "--dry-run", help="do the whole conversion and roll it back: the partitions and their rows"
)


def _table(report: partition.Report) -> Table:
    out = Table("table", "partition", "rows", title="rows per partition")
    for table, parts in report.rows.items():
        for name, rows in parts.items():
            out.add_row(table, name, f"{rows:,}")
    return out


def partition_command(dry_run: Annotated[bool, DRY_RUN] = False) -> None:
    """Partition members, registrations, check-ins and events by province (top-level
    organisation), in one transaction; running it again changes nothing. Restart running
    servers afterwards (they read the layout when they start)."""
    with cli_errors():
        url = database_url()
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("partition", total=None)
            report = partition.convert(
                url, dry_run=dry_run, step=lambda label: bar.update(task, description=label)
            )
        if report.already:
            console.print("already partitioned by province: nothing to do")
            if report.missing:
                console.print(
                    f"[yellow]top-level organisations without a partition (their rows go to "
                    f"DEFAULT): {report.missing}[/yellow]"
                )
            return
        console.print(_table(report))
        verb = "would partition (dry run, rolled back)" if dry_run else "partitioned"
        console.print(
            f"{verb} by province: {len(report.provinces)} provinces, {report.seconds:.1f} s"
        )
