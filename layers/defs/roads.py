"""The walking network (pgRouting) used for 15-minute coverage."""

from layers.base import Aggregation, Field, Filter, Layer
from layers.style import ROAD, Legend, Style, frozen

COLORS = frozen(primary=(90, 90, 90, 230), street=(130, 130, 130, 200))

LAYER = Layer(
    id="roads",
    title_zh="道路",
    title_en="Roads",
    table="roads",
    geom_column="geom",
    geom_type="LineString",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
        Field("length_m", "t.length_m", "number", audience="planner", title_en="Length (m)"),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=11, breakdown="kind"),
    filters=(Filter("kind", "str", "t.kind = {value}", "road kind", field="kind"),),
    version_tables=("roads",),
    description="The walking network (pgRouting) used for 15-minute coverage.",
    style=Style(
        deck_type="GeoJsonLayer",
        color_field="kind",
        colors=COLORS,
        default_color=ROAD,
        legend=(Legend(ROAD, "道路", "Roads"),),
        tooltip="{name}",
        hints=frozen(stroked=True, line_width=2),
        props=frozen(
            stroked=True,
            get_line_width=1,
            line_width_units="pixels",
            line_width_min_pixels=1,
            pickable=False,
        ),
        line=True,
        stack=1,
        pages=frozen(leader=False, nearest=True, coverage=True),
        over_terrain=True,
    ),
)
