"""Members per H3 cell; no published cell or difference of cells is under 10 (tiles/heat.py)."""

from layers.base import Aggregation, Field, Layer, RowLink
from layers.style import MEMBER_HEAT, Style, frozen, ramp_legend

LAYER = Layer(
    id="member_heat",
    title_zh="党员分布热力",
    title_en="Member density",
    table="members",
    geom_column="home",
    geom_type="H3",
    fields=(
        Field("cell", "t.cell", title_en="H3 cell"),
        Field("res", "t.res", "integer", title_en="H3 resolution"),
        Field("count", "t.count", "integer", title_zh="党员数", title_en="Members"),
    ),
    audience="leader",
    minzoom=0,
    maxzoom=16,
    aggregation=Aggregation(method="h3"),
    collection=False,
    version_tables=("members",),
    description="Members per H3 cell; no published cell or difference of cells is under 10.",
    rows=RowLink(org="branch_id", self_id="id", public="never"),
    heat_metrics=("members",),
    style=Style(
        deck_type="H3HexagonLayer",
        default_color=MEMBER_HEAT[-1],
        ramp=MEMBER_HEAT,
        legend=ramp_legend(MEMBER_HEAT),
        tooltip="{count} 名党员",
        hints=frozen(hexagon_field="cell", weight_field="count"),
        stack=3,
        pages=frozen(leader=False),
        draw="heat",
    ),
)
