"""Draw docs/SCALE.md's growth curves from the table's JSON (docs/img/growth.json): one panel
per unit (seconds, milliseconds, gigabytes), log-log, members on x; a measured figure is a dot on
a solid line, a cell the table marks "not measured" (null) is left out, and the dotted grey line
is proportional growth (slope 1) through each panel's first point, for reference.

Usage: .venv/bin/python bench/plot_growth.py [--data docs/img/growth.json] [--out docs/img/growth.svg]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "djmap-growth"  # stable element ids between runs
matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: a smaller file
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("s", "ms", "GB")
TITLES = {"s": "seconds", "ms": "milliseconds (p95)", "GB": "gigabytes"}


def points(series: dict[str, Any], sizes: list[int]) -> tuple[list[int], list[float]]:
    """The measured (members, value) pairs of a series (nulls left out)."""
    pairs = [(n, v) for n, v in zip(sizes, series["values"], strict=True) if v is not None]
    return [n for n, _ in pairs], [float(v) for _, v in pairs]


def panel(ax: Any, unit: str, table: dict[str, Any]) -> None:
    """One unit's series on one log-log axis, with a slope-1 reference."""
    sizes = table["sizes"]
    first: tuple[int, float] | None = None
    for series in table["series"]:
        if series["unit"] != unit:
            continue
        xs, ys = points(series, sizes)
        if not xs:
            continue
        ax.plot(xs, ys, marker="o", linewidth=1.2, label=series["name"])
        if first is None or ys[0] < first[1]:
            first = (xs[0], ys[0])
    if first is not None:
        x0, y0 = first
        ref = [x0, sizes[-1]]
        ax.plot(ref, [y0, y0 * sizes[-1] / x0], ":", color="grey", label="proportional (slope 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("members")
    ax.set_title(TITLES[unit])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=6.5, loc="upper left")


def draw(table: dict[str, Any], out: Path) -> None:
    """The figure, one panel per unit present."""
    units = [u for u in UNITS if any(s["unit"] == u for s in table["series"])]
    fig, axes = plt.subplots(1, len(units), figsize=(5.2 * len(units), 5.0), squeeze=False)
    for ax, unit in zip(axes[0], units, strict=True):
        panel(ax, unit, table)
    fig.suptitle(table.get("title", "djmap: how costs grow with the members"), fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Date": None})  # no timestamp: the file changes only with the data
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "docs" / "img" / "growth.json")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "growth.svg")
    args = ap.parse_args()
    draw(json.loads(args.data.read_text(encoding="utf-8")), args.out)
    print(args.out)


if __name__ == "__main__":
    main()
