"""`djmap coverage`: the planner's coverage run as GeoJSON, a CSV summary and a PNG map."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import cli_errors, console, database_url
from geo.analysis import coverage as core
from geo.analysis import scoping
from geo.analysis.dask_cluster import dask_client, use_dask
from geo.db import Direct
from geo.scope import Principal
from layers.style import RGBA

STAGES = ("area and demand", "service areas", "coverage", "uncovered cells", "proposed sites")


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise typer.BadParameter("bbox is minlon,minlat,maxlon,maxlat") from exc
    if len(parts) != 4:
        raise typer.BadParameter("bbox is minlon,minlat,maxlon,maxlat")
    return parts  # type: ignore[return-value]


def write_geojson(result: dict[str, Any], path: Path) -> None:
    """Service areas, uncovered cells and proposed sites in one FeatureCollection (layer property)."""
    features = [*result["service_areas"]["features"], *result["uncovered_cells"]["features"]]
    for p in result["proposed"]:
        props = {
            "layer": "proposed_site",
            **{k: v for k, v in p.items() if k not in ("lon", "lat")},
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                "properties": props,
            }
        )
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "summary": result["summary"],
        "params": result["params"],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def write_csv(result: dict[str, Any], path: Path) -> None:
    """Summary figures, then one row per proposed site (item, value, lon, lat)."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["item", "value", "lon", "lat"])
        for key, value in result["params"].items():
            w.writerow([f"param.{key}", "" if value is None else value, "", ""])
        for key, value in result["summary"].items():
            w.writerow([key, "" if value is None else value, "", ""])
        for p in result["proposed"]:
            w.writerow([f"proposed.{p['rank']}.gain_weight", p["gain_weight"], p["lon"], p["lat"]])
        for note in result["notes"]:
            w.writerow(["note", note, "", ""])


def _draw_cells(ax: Any, result: dict[str, Any], uncovered: RGBA) -> None:
    """Uncovered cells shaded by weight density (merged coarser cells hatched)."""
    from matplotlib.colors import Normalize
    from shapely.geometry import shape

    from layers.style import unit_rgba

    cells = sorted(
        result["uncovered_cells"]["features"], key=lambda c: c["properties"]["resolution"]
    )
    if not cells:
        return
    dens = [c["properties"]["weight"] / shape(c["geometry"]).area for c in cells]
    norm = Normalize(0, max(dens) or 1)
    for c, d in zip(cells, dens, strict=True):
        ring = c["geometry"]["coordinates"][0]
        merged = c["properties"]["merged"]
        ax.fill([p[0] for p in ring], [p[1] for p in ring], color=unit_rgba(uncovered, 0.25 + 0.75 * float(norm(d))),
                alpha=0.55 if merged else 1.0, lw=0.3, ec="white", hatch="//" if merged else None)  # fmt: skip


def _draw_sites(ax: Any, result: dict[str, Any], area: str, site: str) -> None:
    """Service areas with their sites, then the proposed sites with their ranks."""
    from shapely.geometry import shape

    for f in result["service_areas"]["features"]:
        for poly in getattr(shape(f["geometry"]), "geoms", [shape(f["geometry"])]):
            ax.fill(*poly.exterior.xy, color=area, alpha=0.12, lw=1.0, ec=area)
        props = f["properties"]
        if props.get("lon") is not None:
            ax.plot(props["lon"], props["lat"], "o", ms=5, color=area)
    for p in result["proposed"]:
        ax.plot(p["lon"], p["lat"], marker="*", ms=18, color=site, mec="black")
        ax.annotate(
            str(p["rank"]),
            (p["lon"], p["lat"]),
            xytext=(8, 8),
            textcoords="offset points",
            weight="bold",
        )


def _draw_legend(ax: Any, area: str, site: str, uncovered: RGBA) -> None:
    """What the colours and marks mean."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from layers.style import unit_rgba

    merged = Patch(
        facecolor="white", edgecolor="grey", hatch="//", label="merged coarser cell (privacy)"
    )
    star = Line2D(
        [], [], marker="*", ls="", ms=14, color=site, mec="black", label="proposed site (rank)"
    )
    ax.legend(
        handles=[
            Patch(color=area, alpha=0.4, label="service area"),
            Patch(color=unit_rgba(uncovered, 0.7), label="uncovered (shade = weight density)"),
            merged,
            star,
        ],
        loc="lower left",
        fontsize=8,
    )  # fmt: skip


def write_png(result: dict[str, Any], path: Path, title: str) -> None:
    """A map a planner can paste into a report: service areas, uncovered cells, proposed sites."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from shapely.geometry import shape

    from layers.style import ANALYSIS, hex_rgb  # the pages' palette

    area = hex_rgb(ANALYSIS["service_area"])
    site, uncovered = hex_rgb(ANALYSIS["proposed_site"]), ANALYSIS["uncovered"]
    fig, ax = plt.subplots(figsize=(10, 10), dpi=120)
    _draw_cells(ax, result, uncovered)
    _draw_sites(ax, result, area, site)
    _draw_legend(ax, area, site, uncovered)
    s = result["summary"]
    ax.set_title(
        f"{title}\ncoverage {s['coverage_pct_weight']}% by weight, {s['coverage_pct_count']}% by count; "
        f"uncovered weight {s['uncovered_weight']}",
        fontsize=10,
    )
    lats = [shape(f["geometry"]).centroid.y for f in result["service_areas"]["features"]]
    ax.set_aspect(1 / max(0.05, math.cos(math.radians(sum(lats) / len(lats)))) if lats else 1.0)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _principal(url: str, province: str | None) -> Principal:
    """The run's scope: a province's subtree, or (no province) the admin scope. The CLI runs on
    the server with database rights; it writes aggregates only."""
    if province is None:
        return Principal(role="admin")
    with psycopg.connect(url) as conn:
        return scoping.province(conn, province)


def _run(url: str, req: core.CoverageRequest, principal: Principal, engine: str,
         step: core.Progress) -> dict[str, Any]:  # fmt: skip
    """The run on this process or on Dask (`engine`; auto: by the scope's size)."""
    if not core.wants_dask(Direct(url), req, principal, engine):
        return core.run(Direct(url), req, principal, progress=step)
    step("starting the Dask cluster")
    with dask_client() as client:
        return core.run(Direct(url), req, principal, progress=step, client=client)


def coverage(
    meters: float = typer.Option(None, help="limit in metres"),
    minutes: float = typer.Option(None, help="limit in minutes (default 15)"),
    speed: float = typer.Option(80.0, help="walking speed, m/min"),
    mode: str = typer.Option("straight", help="straight or walk"),
    weight: str = typer.Option("members", help="members, buildings or population"),
    district: str = typer.Option(None, help="district code"),
    bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat"),
    province: str = typer.Option(
        None, help="code of a top-level organisation: its members, wherever they live"
    ),
    engine: str = typer.Option(
        "auto",
        help="local, dask, or auto (dask from DJMAP_DASK_MIN_MEMBERS members in scope, "
        "default 2,000,000); dask uses DJMAP_DASK_SCHEDULER or a LocalCluster",
    ),
    propose: int = typer.Option(0, help="how many new sites to propose (spopt MCLP)"),
    candidates: str = typer.Option("auto", help="auto, buildings or grid"),
    grid_m: float = typer.Option(None, help="grid spacing in metres (default radius/2)"),
    out: Path = typer.Option(Path("coverage"), help="output folder"),
) -> None:
    """Coverage of the 15-minute circle: writes coverage.geojson, coverage.csv and coverage.png."""
    req = core.CoverageRequest(
        meters=meters, minutes=minutes, speed_m_per_min=speed, mode=mode, weight=weight,
        district=district, bbox=_bbox(bbox), propose=propose, candidates=candidates, grid_m=grid_m,
    )  # fmt: skip
    with cli_errors():
        core.validate(req)
        use_dask(engine, 0)  # an unknown engine: a clear error before any work
        url = database_url()
        principal = _principal(url, province)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("coverage", total=len(STAGES) + 1)

            def step(stage: str) -> None:
                bar.update(task, description=stage, advance=1 if stage in STAGES[1:] else 0)

            result = _run(url, req, principal, engine, step)
            bar.update(task, description="writing files", advance=1)
            _write_all(result, out, f"djmap coverage: {req.radius_m:.0f} m {mode}, {weight}")
            bar.update(task, advance=1)
    s = result["summary"]
    console.print(
        f"coverage {s['coverage_pct_weight']}% by weight ({s['coverage_pct_count']}% by count), "
        f"{len(result['proposed'])} proposed site(s); wrote {out}/coverage.geojson, .csv, .png"
    )


def _write_all(result: dict[str, Any], out: Path, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_geojson(result, out / "coverage.geojson")
    write_csv(result, out / "coverage.csv")
    write_png(result, out / "coverage.png", title)


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("coverage")(coverage)
