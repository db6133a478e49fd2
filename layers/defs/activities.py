"""三会一课, 主题党日, 志愿服务 … with their time span (filter with from/to)."""

from geo.vocab import ACTIVITY_KINDS
from layers.base import ACTIVITY_INVITED, Aggregation, Field, Filter, Layer, RowLink, org_filter
from layers.style import DARK_RED, GOLD, ORANGE, RED, WHITE, Style, frozen, kind_legend

COLORS = frozen(
    **{
        "三会一课": RED,
        "主题党日": ORANGE,
        "志愿服务": (40, 150, 90, 230),
        "学习": (40, 100, 200, 230),
        "组织生活会": GOLD,
        "红色教育": DARK_RED,
    }
)

# The organisations invited besides the organiser, by id ([] when none).
INVITED_IDS = (
    "(SELECT coalesce(array_agg(i.org_id ORDER BY i.org_id), ARRAY[]::bigint[]) FROM activity_invitations i"
    " WHERE i.activity_id = t.id)"
)

LAYER = Layer(
    id="activities",
    title_zh="党建活动",
    title_en="Activities",
    table="activities",
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("title", "t.title", title_zh="标题", title_en="Title"),
        Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
        Field(
            "starts_at",
            "to_json(t.starts_at) #>> '{}'",
            "datetime",
            title_zh="开始",
            title_en="Starts",
        ),
        Field(
            "ends_at", "to_json(t.ends_at) #>> '{}'", "datetime", title_zh="结束", title_en="Ends"
        ),
        Field("service_point_id", "t.service_point_id", "integer"),
        Field(
            "capacity",
            "t.capacity",
            "integer",
            audience="member",
            title_zh="名额",
            title_en="Capacity",
        ),
        Field(
            "description",
            "t.description",
            audience="member",
            title_zh="简介",
            title_en="Description",
        ),
        Field("organiser_id", "t.organiser_id", "integer", title_zh="组织者", title_en="Organiser"),
        Field("status", "t.status", title_zh="状态", title_en="Status"),
        Field("cancel_reason", "t.cancel_reason", title_zh="取消原因", title_en="Cancel reason"),
        Field(
            "invited_org_ids",
            INVITED_IDS,
            "integer_list",
            title_zh="受邀组织",
            title_en="Invited organisations",
        ),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=9, breakdown="kind"),
    filters=(
        Filter(
            "kind",
            "str",
            "t.kind = {value}",
            f"activity kind ({', '.join(ACTIVITY_KINDS)} …)",
            field="kind",
        ),
        org_filter("organiser_id"),
        Filter(
            "service_point",
            "int",
            "t.service_point_id = {value}::bigint",
            "service point id",
            field="service_point_id",
        ),
        Filter(
            "from",
            "datetime",
            "t.ends_at >= {value}",
            "ISO 8601 instant: activities ending at or after it",
            field="ends_at",
        ),
        Filter(
            "to",
            "datetime",
            "t.starts_at < {value}",
            "ISO 8601 instant: activities starting before it",
            field="starts_at",
        ),
    ),
    time_field="starts_at",
    time_end_field="ends_at",
    version_tables=("activities", ACTIVITY_INVITED[0]),
    description="三会一课, 主题党日, 志愿服务 … with their time span (filter with from/to).",
    rows=RowLink(org="organiser_id", invited=ACTIVITY_INVITED),
    style=Style(
        deck_type="ScatterplotLayer",
        color_field="kind",
        colors=COLORS,
        default_color=(120, 120, 120, 230),
        legend=kind_legend(COLORS),
        tooltip="{title}（{kind}）<br/>{starts_at} – {ends_at}",
        hints=frozen(radius=40),
        props=frozen(
            point_type="circle",
            get_line_color=list(WHITE),
            stroked=True,
            line_width_min_pixels=1,
            get_point_radius=5,
            point_radius_units="pixels",
            point_billboard=True,
            pickable=True,
            auto_highlight=True,
        ),
        stack=7,
        pages=frozen(leader=True, nearest=False),
        over_terrain=True,
        card="activity",
    ),
)
