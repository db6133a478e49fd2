"""`djmap samples generate|load`: the synthetic sample district (geo/samples)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo.settings import get_db_settings

samples_app = typer.Typer(
    help="The sample district: 上城区 (real boundary) with synthetic party data."
)

Count = Annotated[int, typer.Option(min=0)]


def default_dir() -> Path:
    """Where samples are generated unless told otherwise: <home>/samples."""
    return get_db_settings().home / "samples"


def _steps() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@samples_app.command("generate")
def generate_cmd(
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: <home>/samples)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: same seed and date, same bytes")] = 42,
    today: Annotated[
        str | None, typer.Option(help="reference date YYYY-MM-DD for activities")
    ] = None,
    members: Count = 3000,
    buildings: Count = 3000,
    organisations: Count = 60,
    service_points: Count = 30,
    activities: Count = 300,
    panoramas: Count = 6,
) -> None:
    """Write the synthetic sample files (deterministic for a seed and a date)."""
    from geo.samples import SampleSpec, generate

    spec = SampleSpec(
        seed=seed, today=today or date.today().isoformat(), members=members, buildings=buildings,
        organisations=organisations, service_points=service_points, activities=activities,
        panoramas=panoramas,
    )  # fmt: skip
    target = out or default_dir()
    try:
        spec.validate()
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    started = time.perf_counter()
    with _steps() as bars:
        task: TaskID | None = None

        def step(name: str) -> None:
            nonlocal task
            if task is not None:
                bars.update(task, completed=1)
            task = bars.add_task(name, total=1)

        manifest = generate(spec, target, step=step)
        if task is not None:
            bars.update(task, completed=1)
    _print_counts(
        dict(manifest["counts"]), f"generated in {time.perf_counter() - started:.1f} s → {target}"
    )


@samples_app.command("load")
def load_cmd(
    folder: Annotated[
        Path | None, typer.Option("--dir", help="generated folder (default: <home>/samples)")
    ] = None,
    force: Annotated[bool, typer.Option(help="import again even when already loaded")] = False,
) -> None:
    """Generate the sample if needed, then import it (idempotent; quick when already loaded)."""
    from geo.samples.load import load_samples

    with cli_errors():
        url = database_url()
        target = folder or default_dir()
        started = time.perf_counter()
        with _steps() as bars:
            tasks: dict[str, TaskID] = {}

            def on_step(name: str, index: int, total: int) -> None:
                for t in tasks.values():
                    bars.update(t, completed=1)
                if name != "done":
                    tasks[name] = bars.add_task(f"[{index + 1}/{total}] {name}", total=1)

            result = load_samples(
                url, target, get_db_settings().home / "panoramas", force=force, on_step=on_step
            )
        took = time.perf_counter() - started
        console.print(
            f"DEM for terrain tiles: {target / 'dem.tif'} "
            f"(djmap tiles terrain build --dem {target / 'dem.tif'})"
        )
        if result.skipped:
            console.print(
                f"sample already loaded (fingerprint {result.fingerprint[:12]}); nothing to do"
            )
        _print_counts(
            result.counts,
            f"{'checked' if result.skipped else 'loaded'} in {took:.1f} s",
            result.seconds,
        )


def _print_counts(
    counts: dict[str, int], title: str, seconds: dict[str, float] | None = None
) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    if seconds:
        table.add_column("import s", justify="right")
    for key, value in counts.items():
        took = (seconds or {}).get(key.replace("_", "-"))
        table.add_row(
            key, f"{value:,}", *([f"{took:.2f}" if took is not None else ""] if seconds else [])
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.add_typer(samples_app, name="samples")
