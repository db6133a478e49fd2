"""`djmap tiles export` and `djmap tiles publish`: PMTiles archives of one layer, or of every
public layer with an index for a CDN (tiles/archive.py), and their upload (tiles/publish.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import cli_errors, console, database_url


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _export_public(out: Path, zooms: str) -> None:
    from tiles.archive import export_public, public_layers
    from tiles.seed import parse_zooms

    url = database_url()
    levels = parse_zooms(zooms)
    with _bar() as bar:
        task = bar.add_task("public layers", total=len(public_layers()))
        state = {"layer": ""}

        def on_layer(layer: object) -> None:
            if state["layer"]:
                bar.advance(task)
            state["layer"] = str(getattr(layer, "id", layer))
            bar.update(task, description=f"{state['layer']}: rendering")

        def progress(layer_id: str, n: int) -> None:
            bar.update(task, description=f"{layer_id}: {n} tiles")

        archives = export_public(url, out, levels, progress, on_layer)
        bar.update(task, completed=len(public_layers()), description="public layers")
    for a in archives:
        if a.archive is None:
            console.print(f"[dim]- {a.layer}: no features, no archive[/dim]")
            continue
        size = f"{a.bytes / 1024:,.0f} KiB"
        console.print(
            f"[green]✓[/green] {a.archive}: {a.tiles} tiles, z{a.minzoom}-{a.maxzoom}, {size}"
        )
    n = sum(a.archive is not None for a in archives)
    console.print(f"[green]wrote[/green] {out / 'index.json'} naming {n} archives")


def _export_layer(out: Path, layer: str, zooms: str, audience: str) -> None:
    from tiles.archive import export_file
    from tiles.seed import parse_zooms

    url = database_url()
    levels = parse_zooms(zooms)
    with _bar() as bar:
        task = bar.add_task(f"exporting {layer}", total=None)
        n = export_file(
            url,
            layer,
            levels,
            out,
            audience,
            progress=lambda _, i: bar.update(task, description=f"exporting {layer}: {i} tiles"),
        )
    console.print(f"[green]wrote[/green] {n} tiles of {layer} to {out}")


def export(
    out: Path = typer.Argument(
        ..., help="output file (.pmtiles) with --layer; output folder with --all-public"
    ),
    layer: str | None = typer.Option(None, "--layer", help="one layer id from the catalog"),
    all_public: bool = typer.Option(
        False, "--all-public", help="every public layer, one versioned archive each + index.json"
    ),
    format: str = typer.Option("pmtiles", "--format", help="archive format (pmtiles)"),
    zooms: str | None = typer.Option(
        None, "--zooms", help="zoom levels, e.g. 0-14 (default: 0-14 for --layer, 0-16 for all)"
    ),
    audience: str = typer.Option("public", help="audience whose tiles to export (--layer)"),
) -> None:
    """Write tiles to PMTiles archives for static hosting (a CDN in front of a bucket)."""
    from geo.errors import InvalidInput

    with cli_errors():
        if format != "pmtiles":
            raise InvalidInput(f"unsupported format {format!r} (supported: pmtiles)")
        if (layer is None) == (not all_public):
            raise InvalidInput("give either --layer LAYER or --all-public")
        if all_public:
            if audience != "public":
                raise InvalidInput("--all-public exports the public audience's tiles only")
            _export_public(out, zooms or "0-16")
        else:
            _export_layer(out, str(layer), zooms or "0-14", audience)


def publish(
    src: Path = typer.Argument(..., help="folder written by `djmap tiles export --all-public`"),
    dest: str = typer.Argument(
        ..., help="s3://bucket/prefix (DJMAP_S3_ENDPOINT, AWS_*) or a folder"
    ),
) -> None:
    """Upload the archives (immutable, cached for a year) and then index.json (cached 60 s)."""
    from tiles.publish import publish as publish_archives

    with cli_errors(), console.status(f"publishing to {dest}") as status:
        done = publish_archives(src, dest, progress=lambda name: status.update(f"{dest}: {name}"))
    for name in done.uploaded:
        console.print(f"[green]↑[/green] {name}")
    for name in done.skipped:
        console.print(f"[dim]= {name} (already there)[/dim]")
    console.print(f"[green]published[/green] to {dest}")


def register(app: typer.Typer) -> None:
    """Add `export` and `publish` to `djmap tiles`."""
    app.command("export")(export)
    app.command("publish")(publish)
