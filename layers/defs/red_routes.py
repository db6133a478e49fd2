"""Saved red education routes (红色教育路线, issue 14 §5): the path through their 红色教育基地,
by district; public (service points and roads only)."""

from geo.vocab import ROUTE_MODES
from layers.base import Aggregation, Field, Filter, Layer
from layers.style import DARK_RED, Legend, Style, frozen

LAYER = Layer(
    id="red_routes",
    title_zh="红色教育路线",
    title_en="Red education routes",
    source_sql=(
        "SELECT r.id, r.code, r.name, d.code AS district, r.mode, cardinality(r.stops) AS stops, "
        "r.distance_m, r.duration_s, r.geom FROM red_routes r "
        "LEFT JOIN districts d ON d.id = r.district_id"
    ),
    geom_column="geom",
    geom_type="MultiLineString",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="编码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("district", "t.district", title_zh="行政区", title_en="District"),
        Field("mode", "t.mode", title_zh="方式", title_en="Mode"),
        Field("stops", "t.stops", "integer", title_zh="站点数", title_en="Stops"),
        Field(
            "distance_m",
            "round(t.distance_m)::float8",
            "number",
            title_zh="距离（米）",
            title_en="Distance (m)",
        ),
        Field(
            "duration_min",
            "round(t.duration_s / 60.0)::float8",
            "number",
            title_zh="时长（分钟）",
            title_en="Duration (min)",
        ),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="none", max_features=5_000),
    filters=(
        Filter("district", "str", "t.district = {value}", "district code", field="district"),
        Filter("mode", "enum", "t.mode = {value}", "walk or drive", ROUTE_MODES, "mode"),
    ),
    version_tables=("red_routes", "districts"),
    description="Saved red education routes (红色教育路线) per district.",
    style=Style(
        deck_type="GeoJsonLayer",
        default_color=DARK_RED,
        legend=(Legend(DARK_RED, "红色教育路线", "Red education route"),),
        tooltip="{name}<br/>{distance_m} m · {duration_min} min",
        hints=frozen(filled=False, stroked=True, line_width=4),
        props=frozen(
            filled=False,
            stroked=True,
            get_line_width=4,
            line_width_units="pixels",
            pickable=True,
        ),
        line=True,
        stack=5,
        pages=frozen(coverage=False),
    ),
)
