"""How each map layer draws on the pages (pydeck props), used when the catalog gives no `deck` style."""

from __future__ import annotations

from typing import Any

RED = [200, 16, 46]
GOLD = [242, 183, 5]

SERVICE_POINT_COLORS: dict[str, list[int]] = {
    "党群服务中心": [200, 16, 46, 255],
    "党群服务站": [232, 106, 23, 255],
    "党员活动室": [242, 183, 5, 255],
    "红色教育基地": [128, 24, 72, 255],
}
ORG_COLORS: dict[str, list[int]] = {
    "党委": [150, 0, 20, 255],
    "党总支": [214, 48, 39, 255],
    "党支部": [244, 109, 67, 255],
}
ORG_RADIUS: dict[str, Any] = {"党委": 9, "党总支": 7, "党支部": 5}
HEAT_COLORS = [
    [255, 245, 235, 160],
    [253, 208, 162, 180],
    [253, 141, 60, 200],
    [230, 85, 13, 215],
    [166, 54, 3, 230],
]
ACTIVITY_HEAT_COLORS = [
    [240, 249, 255],
    [158, 202, 225],
    [66, 146, 198],
    [33, 113, 181],
    [8, 48, 107],
]


def color_by(field: str, mapping: dict[str, Any], fallback: Any) -> dict[str, Any]:
    """A JSON accessor (see web/src/deck.js `colorBy`) colouring by a categorical field."""
    return {"@@function": "colorBy", "field": field, "map": mapping, "fallback": fallback}


def number_of(
    field: str, scale: float = 1.0, fallback: float = 0.0, offset: float = 0.0
) -> dict[str, Any]:
    """A JSON accessor reading a numeric field (value × scale + offset)."""
    return {
        "@@function": "numberOf",
        "field": field,
        "scale": scale,
        "fallback": fallback,
        "offset": offset,
    }


def color_if(field: str, on: list[int], off: list[int]) -> dict[str, Any]:
    """A JSON accessor: `on` when the field is truthy."""
    return {"@@function": "colorIf", "field": field, "on": on, "off": off}


# Per layer id: the props of a GeoJsonLayer (or of the GeoJSON sub-layers of an MVTLayer).
STYLES: dict[str, dict[str, Any]] = {
    "boundary": {
        "filled": False,
        "stroked": True,
        "get_fill_color": [200, 16, 46, 14],
        "get_line_color": [*RED, 230],
        "get_line_width": 3,
        "line_width_units": "pixels",
        "pickable": False,
    },
    "roads": {
        "stroked": True,
        "get_line_color": [150, 156, 170, 160],
        "get_line_width": 1,
        "line_width_units": "pixels",
        "line_width_min_pixels": 1,
        "pickable": False,
    },
    "buildings": {
        "filled": True,
        "stroked": False,
        "extruded": True,
        "get_elevation": number_of("height_m", 1.0, 12.0),
        "get_fill_color": color_if("has_org", [*RED, 235], [214, 219, 228, 235]),
        "material": {"ambient": 0.45, "diffuse": 0.6, "shininess": 24},
        "pickable": True,
    },
    "organisations": {
        "point_type": "circle",
        "get_fill_color": color_by("type", ORG_COLORS, [214, 48, 39, 255]),
        "get_line_color": [255, 255, 255, 255],
        "stroked": True,
        "line_width_min_pixels": 1,
        "get_point_radius": color_by("type", ORG_RADIUS, 6),
        "point_radius_units": "pixels",
        "point_billboard": True,
        "pickable": True,
        "auto_highlight": True,
        "highlight_color": [*GOLD, 255],
    },
    "service_points": {
        "point_type": "circle",
        "get_fill_color": color_by("kind", SERVICE_POINT_COLORS, [200, 16, 46, 255]),
        "get_line_color": [255, 255, 255, 255],
        "stroked": True,
        "line_width_min_pixels": 2,
        "get_point_radius": 9,
        "point_radius_units": "pixels",
        "point_billboard": True,
        "pickable": True,
        "auto_highlight": True,
        "highlight_color": [*GOLD, 255],
    },
    "activities": {
        "point_type": "circle",
        "get_fill_color": [24, 111, 196, 230],
        "get_line_color": [255, 255, 255, 255],
        "stroked": True,
        "line_width_min_pixels": 1,
        "get_point_radius": 5,
        "point_radius_units": "pixels",
        "point_billboard": True,
        "pickable": True,
        "auto_highlight": True,
    },
}

# Legend entries per layer id: (colour, zh-CN, en).
LEGENDS: dict[str, list[tuple[list[int], str, str]]] = {
    "boundary": [(RED, "区界", "District boundary")],
    "roads": [([150, 156, 170], "道路", "Roads")],
    "buildings": [
        (RED, "有党组织的建筑", "Building with a party organisation"),
        ([214, 219, 228], "其他建筑", "Other building"),
    ],
    "organisations": [
        (ORG_COLORS["党委"][:3], "党委", "Party committee"),
        (ORG_COLORS["党总支"][:3], "党总支", "General branch"),
        (ORG_COLORS["党支部"][:3], "党支部", "Branch"),
    ],
    "service_points": [
        (SERVICE_POINT_COLORS["党群服务中心"][:3], "党群服务中心", "Service centre"),
        (SERVICE_POINT_COLORS["党群服务站"][:3], "党群服务站", "Service station"),
        (SERVICE_POINT_COLORS["党员活动室"][:3], "党员活动室", "Activity room"),
        (SERVICE_POINT_COLORS["红色教育基地"][:3], "红色教育基地", "Red education site"),
    ],
    "activities": [([24, 111, 196], "活动", "Activity")],
    "member_heat": [(c[:3], "", "") for c in HEAT_COLORS],
    "activity_heat": [(c[:3], "", "") for c in ACTIVITY_HEAT_COLORS],
}
