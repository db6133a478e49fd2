"""The walking network (pgRouting) used for 15-minute coverage."""

from layers.base import Aggregation, Field, Filter, Layer
from layers.style import ROAD, Style, by_field, frozen, term_legend

# Roads by class (issue 11 §1): wider and darker the more traffic the class carries.
COLORS = frozen(
    **{
        "主干路": (120, 110, 100, 255),
        "次干路": (150, 140, 130, 240),
        "支路": (170, 165, 160, 230),
        "street": (170, 165, 160, 230),
        "步行道": (190, 180, 160, 200),
        "primary": (120, 110, 100, 255),
    }
)
WIDTHS = {"主干路": 22, "primary": 22, "次干路": 15, "支路": 9, "street": 9, "步行道": 4}  # metres

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
        legend=tuple(term_legend(COLORS[k], k) for k in ("主干路", "次干路", "支路", "步行道")),
        tooltip="{name}",
        hints=frozen(stroked=True, line_width=2),
        props=frozen(
            stroked=True,
            get_line_width=by_field("kind", WIDTHS, 9),
            line_width_units="meters",
            line_width_min_pixels=0.5,
            line_width_max_pixels=12,
            pickable=False,
        ),
        line=True,
        stack=1,
        pages=frozen(leader=True, nearest=True, coverage=True),
        over_terrain=True,
    ),
)
