"""The pages' view of the layer catalog (`layers/catalog.py`): ids, titles, audience, deck style."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from web.styles import LEGENDS, STYLES, color_by, number_of

# The order layers are stacked in, bottom first; layers the catalog adds go on top.
STACK = (
    "boundary",
    "roads",
    "buildings",
    "member_heat",
    "activity_heat",
    "organisations",
    "service_points",
    "activities",
)

# Layers the pages draw (the catalog's `members` layer of home points is never drawn here).
_DRAWN = frozenset(STACK)

# Titles used while the catalog is not there (it is the source of truth once it lands).
_FALLBACK: dict[str, tuple[str, str, str]] = {
    "boundary": ("区界", "District boundary", "public"),
    "roads": ("道路", "Roads", "public"),
    "buildings": ("建筑", "Buildings", "public"),
    "organisations": ("党组织", "Organisations", "public"),
    "service_points": ("党群服务点", "Service points", "public"),
    "activities": ("党建活动", "Activities", "public"),
    "member_heat": ("党员分布热力", "Member heat", "leader"),
    "activity_heat": ("活动热力", "Activity heat", "leader"),
}
# English names of the kinds the catalog colours by (legend labels).
_EN = {
    "党委": "Party committee",
    "党总支": "General branch",
    "党支部": "Branch",
    "党群服务中心": "Service centre",
    "党群服务站": "Service station",
    "党员活动室": "Activity room",
    "红色教育基地": "Red education site",
    "三会一课": "Meetings & party class",
    "主题党日": "Theme party day",
    "志愿服务": "Volunteering",
    "学习": "Study",
    "组织生活会": "Organisational life",
    "红色教育": "Red education",
}
_RANK = {"public": 0, "member": 1, "leader": 2, "planner": 2, "admin": 9}


@dataclass(frozen=True)
class PageLayer:
    """One map layer as the pages need it."""

    id: str
    title_zh: str
    title_en: str
    geometry: str = "point"
    deck: dict[str, Any] = field(default_factory=dict)
    legend: list[tuple[list[int], str, str]] = field(default_factory=list)
    public: bool = True
    tooltip: str = ""

    def title(self, lang: str) -> str:
        """The title in the page language."""
        return self.title_en if lang == "en" else self.title_zh


def _catalog() -> Any | None:
    try:
        return importlib.import_module("layers.catalog")
    except ImportError:
        return None


def _style_from_catalog(lid: str, style: dict[str, Any]) -> dict[str, Any]:
    """Pydeck props from the catalog's style spec (colours, fields), over the page defaults."""
    props = dict(STYLES.get(lid, {}))
    field_name = style.get("color_field")
    colors = style.get("colors")
    default = style.get("default_color")
    color_key = "get_line_color" if lid in ("boundary", "roads") else "get_fill_color"
    if field_name and colors:
        props[color_key] = color_by(field_name, dict(colors), list(default or [128, 128, 128]))
    elif default:
        props[color_key] = list(default)
    if style.get("elevation_field"):
        props["get_elevation"] = number_of(style["elevation_field"], 1.0, 12.0)
    return props


def _legend_from_catalog(lid: str, style: dict[str, Any]) -> list[tuple[list[int], str, str]]:
    colors = style.get("colors")
    if not colors or lid not in ("organisations", "service_points", "activities"):
        return LEGENDS.get(lid, [])
    return [(list(c)[:3], str(k), _EN.get(str(k), str(k))) for k, c in colors.items()]


def _from_catalog(layer: Any) -> PageLayer:
    lid = str(layer.id)
    style = dict(getattr(layer, "deck", {}) or {})
    return PageLayer(
        id=lid,
        title_zh=str(layer.title_zh),
        title_en=str(layer.title_en),
        geometry=str(layer.geom_type).lower(),
        deck=_style_from_catalog(lid, style),
        legend=_legend_from_catalog(lid, style),
        public=str(layer.audience) == "public",
        tooltip=str(style.get("tooltip") or ""),
    )


def _fallback(audience: str) -> list[PageLayer]:
    rank = _RANK.get(audience, 0)
    return [
        PageLayer(
            lid,
            zh,
            en,
            deck=dict(STYLES.get(lid, {})),
            legend=LEGENDS.get(lid, []),
            public=aud == "public",
        )
        for lid, (zh, en, aud) in _FALLBACK.items()
        if _RANK[aud] <= rank
    ]


def page_layers(audience: str) -> list[PageLayer]:
    """The layers this audience may see, bottom first."""
    cat = _catalog()
    found = [_from_catalog(x) for x in cat.visible(audience)] if cat else _fallback(audience)
    found = [p for p in found if p.id in _DRAWN]
    order = {lid: i for i, lid in enumerate(STACK)}
    return sorted(found, key=lambda p: order.get(p.id, len(STACK)))
