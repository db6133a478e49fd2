"""Check-ins (签到) per H3 cell at activity sites, under the same threshold of 10."""

from layers.base import Aggregation, Field, Layer, RowLink, sql_beside
from layers.style import ACTIVITY_HEAT, Style, frozen, ramp_legend

LAYER = Layer(
    id="activity_heat",
    title_zh="活动参与热力",
    title_en="Activity participation",
    source_sql=sql_beside(__file__, "activity_heat.sql"),
    geom_column="geom",
    geom_type="H3",
    fields=(
        Field("cell", "t.cell", title_en="H3 cell"),
        Field("res", "t.res", "integer", title_en="H3 resolution"),
        Field("count", "t.count", "integer", title_zh="签到人次", title_en="Check-ins"),
    ),
    audience="public",
    minzoom=0,
    maxzoom=16,
    aggregation=Aggregation(method="h3"),
    collection=False,
    version_tables=("checkins", "activities"),
    description="Check-ins (签到) per H3 cell at activity sites, same threshold of 10.",
    rows=RowLink(member="member_id"),
    heat_metrics=("activities", "checkins"),
    style=Style(
        deck_type="H3HexagonLayer",
        default_color=ACTIVITY_HEAT[-1],
        ramp=ACTIVITY_HEAT,
        legend=ramp_legend(ACTIVITY_HEAT),
        tooltip="{count} 人次签到",
        hints=frozen(hexagon_field="cell", weight_field="count"),
        stack=4,
        pages=frozen(leader=False),
        draw="heat",
    ),
)
