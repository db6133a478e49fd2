"""Accessibility (issue 14 §3): walking minutes from every H3 cell to the nearest service point
(and the third nearest), coloured in bands of 5, 10, 15 and 30 minutes. Public: it shows times,
not people. A derived build (tiles/accessibility_build.py) of the roads and service points."""

from layers.base import Aggregation, Field, Layer, sql_beside
from layers.style import Legend, Style, by_field, frozen

COLORS = frozen(
    **{
        "5": (26, 152, 80, 150),
        "10": (145, 207, 96, 150),
        "15": (254, 224, 139, 150),
        "30": (252, 141, 89, 150),
        "far": (215, 48, 39, 150),
    }
)
NAMES = {
    "5": ("5分钟内", "Within 5 min"),
    "10": ("5-10分钟", "5-10 min"),
    "15": ("10-15分钟", "10-15 min"),
    "30": ("15-30分钟", "15-30 min"),
    "far": ("30分钟以上", "Over 30 min"),
}

LAYER = Layer(
    id="accessibility",
    title_zh="步行可达性",
    title_en="Walking accessibility",
    source_sql=sql_beside(__file__, "accessibility.sql"),
    geom_column="geom",
    geom_type="Polygon",
    fields=(
        Field("id", "t.id", "integer"),
        Field("cell", "t.cell", title_zh="网格", title_en="H3 cell"),
        Field("t1_min", "t.t1_min", "number", title_zh="最近站点(分钟)", title_en="Nearest (min)"),
        Field(
            "t3_min",
            "t.t3_min",
            "number",
            title_zh="第三近站点(分钟)",
            title_en="3rd nearest (min)",
        ),
        Field("band", "t.band", title_zh="时间段", title_en="Band (minutes)"),
    ),
    minzoom=10,
    maxzoom=18,
    aggregation=Aggregation(method="none", max_features=50_000),
    version_tables=("accessibility_cells",),
    description="Walking minutes to the nearest and third nearest service point per H3 cell.",
    style=Style(
        deck_type="GeoJsonLayer",
        color_field="band",
        colors=COLORS,
        default_color=(128, 128, 128, 120),
        legend=tuple(Legend(COLORS[k], *NAMES[k]) for k in COLORS),
        tooltip="{t1_min} 分钟",
        hints=frozen(filled=True, stroked=False),
        props=frozen(
            filled=True,
            stroked=False,
            get_fill_color=by_field("band", COLORS, [128, 128, 128, 120]),
            pickable=True,
        ),
        stack=1,
        pages=frozen(coverage=True),
        draw="features",
    ),
)
