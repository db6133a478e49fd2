"""党委 → 党总支 → 党支部 at their office or building."""

from geo.vocab import ORG_TYPES
from layers.base import Aggregation, Field, Filter, Layer, RowLink, org_filter
from layers.style import RED, WHITE, Style, by_field, frozen, kind_legend

COLORS = frozen(**{"党委": RED, "党总支": (230, 80, 40, 230), "党支部": (250, 140, 60, 230)})
SIZES = {"党委": 36, "党总支": 30, "党支部": 24}  # icon pixels; the pages' circles are a quarter

LAYER = Layer(
    id="organisations",
    title_zh="党组织",
    title_en="Party organisations",
    table="organisations",
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("type", "t.type", title_zh="类型", title_en="Type"),
        Field("parent_id", "t.parent_id", "integer", title_zh="上级", title_en="Parent"),
        Field("contact", "t.contact", audience="member", title_zh="联系方式", title_en="Contact"),
        Field("founded", "t.founded::text", audience="leader", title_zh="成立", title_en="Founded"),
        Field("building_id", "t.building_id", "integer", audience="leader"),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=10, breakdown="type"),
    filters=(
        Filter("type", "enum", "t.type = {value}", "organisation type", ORG_TYPES, "type"),
        org_filter("id"),
    ),
    version_tables=("organisations",),
    description="党委 → 党总支 → 党支部 at their office or building.",
    rows=RowLink(org="id"),
    style=Style(
        deck_type="IconLayer",
        color_field="type",
        colors=COLORS,
        default_color=RED,
        legend=kind_legend(COLORS),
        tooltip="{name}（{type}）",
        hints=frozen(
            icons={
                "党委": "party-committee",
                "党总支": "party-general-branch",
                "党支部": "party-branch",
            },
            size=SIZES,
        ),
        props=frozen(
            point_type="circle",
            get_line_color=list(WHITE),
            stroked=True,
            line_width_min_pixels=1,
            get_point_radius=by_field("type", {k: v // 4 for k, v in SIZES.items()}, 6),
            point_radius_units="pixels",
            point_billboard=True,
            pickable=True,
            auto_highlight=True,
            highlight_color=[255, 196, 0, 255],
        ),
        stack=5,
        pages=frozen(leader=True),
        over_terrain=True,
        card="organisation",
    ),
)
