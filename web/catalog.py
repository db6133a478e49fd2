"""The pages' view of the layers (layers/): what each page needs of a layer, read from the layer.

Titles, audience, colours, legend, stacking order, the pages that draw a layer and how they draw
it all come from the layer's definition and its style (layers/style.py); nothing here names a
layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from layers import catalog
from layers.base import Layer
from layers.style import page_props

LegendRow = tuple[list[int], str, str]  # colour (RGB), zh-CN label, en label


@dataclass(frozen=True)
class PageLayer:
    """One map layer as the pages need it."""

    id: str
    title_zh: str
    title_en: str
    geometry: str = "point"
    deck: dict[str, Any] = field(default_factory=dict)
    legend: list[LegendRow] = field(default_factory=list)
    public: bool = True
    tooltip: str = ""
    pages: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    draw: str = "tiles"
    heat_metric: str | None = None
    ramp: list[list[int]] = field(default_factory=list)
    over_terrain: bool = False
    threed: str | None = None
    card: str | None = None
    filters: tuple[str, ...] = ()
    time: bool = False
    org_field: str | None = None
    raster_hides: bool = False  # hidden under an online raster basemap (its fills cover it)

    def title(self, lang: str) -> str:
        """The title in the page language."""
        return self.title_en if lang == "en" else self.title_zh


def page_layer(layer: Layer) -> PageLayer:
    """A layer as the pages draw it (its style's props, legend and pages)."""
    style = layer.style
    return PageLayer(
        id=layer.id,
        title_zh=layer.title_zh,
        title_en=layer.title_en,
        geometry=layer.geom_type.lower(),
        deck=page_props(style),
        legend=[(list(e.color[:3]), e.zh, e.en) for e in style.legend],
        public=layer.audience == "public",
        tooltip=style.tooltip,
        pages=style.pages,
        draw=style.draw,
        heat_metric=layer.heat_metric,
        ramp=[list(c) for c in style.ramp],
        over_terrain=style.over_terrain,
        threed=style.threed,
        card=style.card,
        filters=tuple(f.name for f in layer.filters),
        time=layer.time_field is not None,
        org_field=org_field(layer),
        raster_hides=style.raster_hides,
    )


def org_field(layer: Layer) -> str | None:
    """The public field naming the organisation a feature hangs on (its row link's column), by
    which the leader page dims what lies outside a bound caller's subtree; None when the layer
    has none (roads, buildings, heat cells)."""
    link = layer.rows
    if link is None or link.org is None:
        return None
    public = {f.name for f in layer.fields if f.audience == "public"}
    return link.org if link.org in public else None


def page_layers(audience: str) -> list[PageLayer]:
    """The layers this audience may see that the pages draw, bottom first."""
    return [page_layer(x) for x in catalog.visible(audience) if x.style.stack is not None]


def written_to(table: str, audience: str) -> str | None:
    """The id of the collection visible to `audience` whose writes change `table` (a layer
    served from SQL names it as `write_table`), for the pages' drawing tools."""
    return next((x.id for x in catalog.visible(audience) if x.write_table == table), None)
