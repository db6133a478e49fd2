"""党群服务中心, 党群服务站, 党员活动室 and 红色教育基地."""

from geo.vocab import SERVICE_POINT_KINDS
from layers.base import Aggregation, Field, Filter, Layer, RowLink, org_filter
from layers.style import DARK_RED, GOLD, ORANGE, RED, WHITE, Style, frozen, kind_legend

COLORS = frozen(
    **{"党群服务中心": RED, "党群服务站": ORANGE, "党员活动室": GOLD, "红色教育基地": DARK_RED}
)

LAYER = Layer(
    id="service_points",
    title_zh="党群服务阵地",
    title_en="Service points",
    table="service_points",
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
        Field("address", "t.address", title_zh="地址", title_en="Address"),
        Field("opening_hours", "t.opening_hours", title_zh="开放时间", title_en="Opening hours"),
        Field("capacity", "t.capacity", "integer", title_zh="容量", title_en="Capacity"),
        Field("phone", "t.phone", audience="member", title_zh="电话", title_en="Phone"),
        Field("org_id", "t.org_id", "integer", title_zh="所属组织", title_en="Organisation"),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=9, breakdown="kind"),
    filters=(
        Filter(
            "kind", "enum", "t.kind = {value}", "service point kind", SERVICE_POINT_KINDS, "kind"
        ),
        org_filter("org_id"),
    ),
    version_tables=("service_points",),
    description="党群服务中心, 党群服务站, 党员活动室 and 红色教育基地.",
    rows=RowLink(org="org_id", public="place"),  # public places: everyone sees all of them
    style=Style(
        deck_type="IconLayer",
        color_field="kind",
        colors=COLORS,
        default_color=RED,
        legend=kind_legend(COLORS),
        tooltip="{name}（{kind}）<br/>{address}<br/>{opening_hours}",
        hints=frozen(
            icons={
                "党群服务中心": "service-centre",
                "党群服务站": "service-station",
                "党员活动室": "activity-room",
                "红色教育基地": "red-education",
            }
        ),
        props=frozen(
            point_type="circle",
            get_line_color=list(WHITE),
            stroked=True,
            line_width_min_pixels=2,
            get_point_radius=9,
            point_radius_units="pixels",
            point_billboard=True,
            pickable=True,
            auto_highlight=True,
            highlight_color=[255, 196, 0, 255],
        ),
        stack=6,
        pages=frozen(leader=True, nearest=True, coverage=True),
        over_terrain=True,
        card="service_point",
    ),
)
