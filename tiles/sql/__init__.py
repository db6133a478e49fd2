"""The SQL of the vector tiles: templates in the `.sql` files beside this module, loaded once.

Templates name their holes `{name}` (geo/compose.py fills them: identifiers and expressions from
the layer, values as parameters). Parameters common to the tile statements: `z`, `x`, `y`
(ST_TileEnvelope), `west`, `south`, `east`, `north` (the tile in degrees, morecantile), `budget`
(features allowed before clustering), then each filter's (`f:<name>`) and the row scope's.
A point (or a shape's representative point) belongs to exactly one tile per zoom: lon in
[west, east) and lat in (south, north], so tiles partition it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
# Tile statements number these first, in this order (callers pass positional arguments).
TILE_KEYS = ("z", "x", "y", "west", "south", "east", "north", "budget")
POINT_KEYS = ("west", "south", "east", "north", "bottom", "top")


@cache
def template(name: str) -> str:
    """The template `name`.sql beside this module, without its leading comment lines."""
    text = (HERE / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return "\n".join(lines).strip().rstrip(";")
