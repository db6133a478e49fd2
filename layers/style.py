"""How layers draw: the one palette, and each layer's `Style` (deck description, page props,
legend, stacking order and the pages that draw it).

The palette is the only place colours are written down: the deck description of
`GET /api/layers` (what tile clients draw with), the pydeck pages (web/catalog.py) and the
printed outputs (the coverage PNG) all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from geo.vocab import term

RGBA = tuple[int, int, int, int]

# The palette -------------------------------------------------------------------------------------
RED: RGBA = (200, 16, 46, 230)
GOLD: RGBA = (255, 196, 0, 230)
DARK_RED: RGBA = (140, 20, 20, 230)
ORANGE: RGBA = (230, 90, 40, 230)
BOUNDARY: RGBA = (180, 30, 30, 255)
GREY: RGBA = (200, 200, 200, 200)
ROAD: RGBA = (110, 110, 110, 200)
WHITE: RGBA = (255, 255, 255, 255)
# The offline basemap (issue 11 §1): land use areas, road classes, labels.
LANDUSE: Mapping[str, RGBA] = MappingProxyType(
    {
        "water": (158, 202, 236, 255),
        "green": (200, 228, 190, 255),
        "forest": (170, 208, 160, 255),
        "farmland": (236, 232, 200, 255),
    }
)
LABEL: RGBA = (40, 40, 40, 255)
# Heat ramps, low to high (the pages' H3 layers and their legends).
MEMBER_HEAT: tuple[RGBA, ...] = (
    (255, 245, 235, 160),
    (253, 208, 162, 180),
    (253, 141, 60, 200),
    (230, 85, 13, 215),
    (166, 54, 3, 230),
)
ACTIVITY_HEAT: tuple[RGBA, ...] = (
    (240, 249, 255, 160),
    (158, 202, 225, 180),
    (66, 146, 198, 200),
    (33, 113, 181, 215),
    (8, 48, 107, 230),
)
# Coverage results, on the coverage page and in its printout (djmap coverage → coverage.png).
SERVICE_AREA: RGBA = (46, 139, 87, 200)
UNCOVERED: RGBA = (230, 85, 13, 230)
PROPOSED_SITE: RGBA = (242, 183, 5, 255)
PROPOSED_EDGE: RGBA = (120, 80, 0, 255)
# Capacity (2SFCA) cells and site loads, a diverging palette (ColorBrewer RdYlBu): under-served
# red, balanced pale yellow, over-served blue.
CAPACITY_UNDER: RGBA = (215, 48, 39, 170)
CAPACITY_OK: RGBA = (255, 255, 191, 150)
CAPACITY_OVER: RGBA = (69, 117, 180, 170)
ANALYSIS = {
    "service_area": SERVICE_AREA,
    "uncovered": UNCOVERED,
    "proposed_site": PROPOSED_SITE,
    "proposed_edge": PROPOSED_EDGE,
    "capacity_under": CAPACITY_UNDER,
    "capacity_ok": CAPACITY_OK,
    "capacity_over": CAPACITY_OVER,
}


def hex_rgb(color: RGBA) -> str:
    """`#rrggbb` of a palette colour (matplotlib and CSS)."""
    return "#{:02x}{:02x}{:02x}".format(*color[:3])


def unit_rgba(color: RGBA, alpha: float | None = None) -> tuple[float, float, float, float]:
    """A palette colour as matplotlib's 0..1 RGBA (its own alpha unless one is given)."""
    r, g, b, a = (c / 255 for c in color)
    return (r, g, b, a if alpha is None else alpha)


def frozen(**kwargs: Any) -> Mapping[str, Any]:
    """A read-only mapping (styles are shared by every request)."""
    return MappingProxyType(dict(kwargs))


@dataclass(frozen=True)
class Legend:
    """One legend entry: a colour and its label in both page languages."""

    color: RGBA
    zh: str = ""
    en: str = ""


def kind_legend(colors: Mapping[str, RGBA]) -> tuple[Legend, ...]:
    """One entry per coloured kind, labelled with its names in the vocabulary (geo.vocab.TERMS)."""
    return tuple(term_legend(c, k) for k, c in colors.items())


def term_legend(color: RGBA, value: str) -> Legend:
    """A legend entry for a stored value, named as the vocabulary names it (geo.vocab.TERMS)."""
    return Legend(color, term(value, "zh-CN"), term(value, "en"))


def ramp_legend(ramp: tuple[RGBA, ...]) -> tuple[Legend, ...]:
    """An unlabelled ramp (the pages draw it low → high)."""
    return tuple(Legend(c) for c in ramp)


@dataclass(frozen=True)
class Style:
    """How one layer draws.

    `deck_type`, `color_field`, `colors`, `default_color`, `ramp`, `tooltip` and `hints` describe
    it to tile clients (`GET /api/layers` → `deck`); `props` are the pydeck props the pages add
    (`line`: colour the lines, not the fill); `stack` orders the pages' layers bottom first (None:
    never drawn on a page); `pages` names the pages that draw it and whether it starts visible;
    `draw` says where the pages read it from (`tiles`, `features` for a small layer drawn whole
    when the features API is there, `heat` for published heat cells); `threed` is the 3D Tiles
    tileset drawing it in 3D; `card` is what the map page opens when a feature is clicked;
    `raster_hides`: hidden while an online raster basemap is drawn (web/basemaps.py), whose own
    water and green our opaque fills would cover."""

    deck_type: str = "GeoJsonLayer"
    color_field: str | None = None
    colors: Mapping[str, RGBA] = field(default_factory=frozen)
    default_color: RGBA = (128, 128, 128, 230)
    ramp: tuple[RGBA, ...] = ()
    legend: tuple[Legend, ...] = ()
    tooltip: str = ""
    hints: Mapping[str, Any] = field(default_factory=frozen)
    props: Mapping[str, Any] = field(default_factory=frozen)
    line: bool = False
    stack: int | None = None
    pages: Mapping[str, bool] = field(default_factory=frozen)
    draw: str = "tiles"
    over_terrain: bool = False
    threed: str | None = None
    card: str | None = None
    raster_hides: bool = False

    def describe(self) -> dict[str, Any]:
        """The deck.gl description tile clients read (type, colours, tooltip, drawing hints)."""
        out: dict[str, Any] = {"type": self.deck_type}
        if self.color_field:
            out["color_field"] = self.color_field
        if self.colors:
            out["colors"] = {k: list(c) for k, c in self.colors.items()}
        out["default_color"] = list(self.default_color)
        if self.ramp:
            out["color_range"] = [list(c[:3]) for c in self.ramp]
        if self.tooltip:
            out["tooltip"] = self.tooltip
        return {**out, **self.hints}


# deck.js accessors (web/src/deck.js `colorBy`, `numberOf`): JSON the page bundle turns into
# functions, so a style is data all the way to the browser.
def by_field(field_name: str, mapping: Mapping[str, Any], fallback: Any) -> dict[str, Any]:
    """A value looked up by a categorical field (colours, radii)."""
    return {
        "@@function": "colorBy",
        "field": field_name,
        "map": dict(mapping),
        "fallback": fallback,
    }


def number_of(
    field_name: str, scale: float = 1.0, fallback: float = 0.0, offset: float = 0.0
) -> dict[str, Any]:
    """A numeric field read as value × scale + offset."""
    return {
        "@@function": "numberOf",
        "field": field_name,
        "scale": scale,
        "fallback": fallback,
        "offset": offset,
    }


def page_props(style: Style) -> dict[str, Any]:
    """The pydeck props the pages draw a layer with: its props plus the palette's colours."""
    props = dict(style.props)
    key = "get_line_color" if style.line else "get_fill_color"
    if style.color_field and style.colors:
        colors = {k: list(c) for k, c in style.colors.items()}
        props[key] = by_field(style.color_field, colors, list(style.default_color))
    else:
        props[key] = list(style.default_color)
    elevation = style.hints.get("elevation_field")
    if elevation:
        props["get_elevation"] = number_of(str(elevation), 1.0, 12.0)
    return props
