"""Administrative boundaries of the district and its 街道."""

from layers.base import Aggregation, Field, Filter, Layer
from layers.style import BOUNDARY, Legend, Style, frozen

LAYER = Layer(
    id="boundary",
    title_zh="行政区划",
    title_en="Boundaries",
    table="districts",
    geom_column="geom",
    geom_type="MultiPolygon",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("level", "t.level", title_zh="级别", title_en="Level"),
    ),
    minzoom=0,
    maxzoom=18,
    aggregation=Aggregation(method="none", max_features=10_000),
    filters=(
        Filter(
            "level", "str", "t.level = {value}", "boundary level (district, 街道 …)", field="level"
        ),
    ),
    version_tables=("districts",),
    description="Administrative boundaries of the district and its 街道.",
    style=Style(
        deck_type="GeoJsonLayer",
        default_color=BOUNDARY,
        legend=(Legend(BOUNDARY, "区界", "District boundary"),),
        tooltip="{name}",
        hints=frozen(filled=False, stroked=True, line_width=2),
        props=frozen(
            filled=False,
            stroked=True,
            get_line_width=3,
            line_width_units="pixels",
            pickable=False,
        ),
        line=True,
        stack=0,
        pages=frozen(leader=True, nearest=True, coverage=True),
        draw="features",
        over_terrain=True,
    ),
)
