"""`djmap import KIND PATH`: the ingest core on the command line (exit 0 written, 1 rejected, 2 usage)."""

from __future__ import annotations

import getpass
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import cli_errors, console, database_url
from geo.errors import ImportRejected, InvalidInput
from geo.ingest import KINDS, import_file
from geo.ingest.columns import parse_map_options
from geo.ingest.report import print_summary
from tiles.versions import settle_write_sync

ImportKind = Enum("ImportKind", {k.replace("-", "_"): k for k in KINDS}, type=str)  # type: ignore[misc]


def import_command(
    kind: Annotated[ImportKind, typer.Argument(help="what the file holds")],
    path: Annotated[
        Path, typer.Argument(help="CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile")
    ],
    crs: Annotated[
        str | None,
        typer.Option(
            help="coordinates' CRS: EPSG:4326 (default), EPSG:3857, EPSG:4490 …, gcj02, bd09"
        ),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="write the good rows, report the bad ones")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="write the JSON report to this file")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="column mapping target=source (repeatable), e.g. lon=东经"),
    ] = None,
    china_only: Annotated[
        bool, typer.Option("--china-only", help="reject points outside China")
    ] = False,
    progress: Annotated[bool, typer.Option(help="progress bar on a terminal")] = True,
) -> None:
    """Import a file of organisations, members, service points, activities, buildings, roads, panoramas or districts."""
    try:
        columns = parse_map_options(map_)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="--map") from exc
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="PATH")
    with cli_errors():
        url = database_url()
    try:
        result = import_file(
            url,
            kind.value,
            path,
            crs=crs,
            skip_invalid=skip_invalid,
            columns=columns,
            china_only=china_only,
            report_path=report,
            actor=_actor(),
            progress=progress,
        )
    except ImportRejected as exc:
        print_summary(exc.report, console)  # type: ignore[arg-type]
        status = exc.report.get("status", "rejected")
        console.print(f"[red]{status}:[/red] nothing was written" + _report_hint(report))
        raise typer.Exit(1) from exc
    except InvalidInput as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    settle_write_sync()  # committed: the servers' next tile requests see it (tiles/versions.py)
    print_summary(result.report, console)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _report_hint(report: Path | None) -> str:
    return f" (report: {report})" if report else " (use --report FILE for every row)"


def register(app: typer.Typer) -> None:
    """Add `djmap import` to the main app."""
    app.command("import")(import_command)
