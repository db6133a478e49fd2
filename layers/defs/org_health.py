"""Organisation health (issue 13): each organisation red, amber or green by its score, sized by
its members as a published class (none under 10: drawn at the smallest size); leaders and up,
each within their subtree. The scores are a derived build (tiles/health_build.py)."""

from layers.base import Aggregation, Field, Filter, Layer, RowLink, org_filter, sql_beside
from layers.style import Legend, Style, by_field, frozen

COLORS = frozen(
    green=(46, 160, 67, 235),
    amber=(240, 170, 20, 235),
    red=(200, 16, 46, 235),
)
NAMES = {"green": ("良好", "Good"), "amber": ("一般", "Fair"), "red": ("较差", "Poor")}
RADIUS = {"1": 7, "2": 10, "3": 14}  # size classes of members (geo.privacy.size_class)

LAYER = Layer(
    id="org_health",
    title_zh="组织健康度",
    title_en="Organisation health",
    source_sql=sql_beside(__file__, "org_health.sql"),
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("type", "t.type", title_zh="类型", title_en="Type"),
        Field("parent_id", "t.parent_id", "integer", title_zh="上级", title_en="Parent"),
        Field("score", "t.score", "number", title_zh="得分", title_en="Score"),
        Field("status", "t.status", title_zh="状态", title_en="Status"),
        Field(
            "size_class",
            "t.size_class",
            "integer",
            title_zh="党员规模等级",
            title_en="Member size class (10-49: 1, 50-199: 2, 200+: 3; none under 10)",
        ),
        Field("as_of", "t.as_of::text", title_zh="计算日期", title_en="As of"),
    ),
    audience="leader",
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="none"),
    filters=(
        Filter("status", "enum", "t.status = {value}", "health status", tuple(COLORS), "status"),
        org_filter("id"),
    ),
    collection=False,
    version_tables=("org_health_scores", "organisations"),
    description="Organisation health scores: red, amber, green; sized by member class.",
    rows=RowLink(org="id", public="never"),
    style=Style(
        deck_type="ScatterplotLayer",
        color_field="status",
        colors=COLORS,
        default_color=(128, 128, 128, 200),
        legend=tuple(Legend(COLORS[k], *NAMES[k]) for k in COLORS),
        tooltip="{name}：{score}分",
        hints=frozen(size_field="size_class", size=RADIUS),
        props=frozen(
            # drawn from tiles (GeoJsonLayer points): getPointRadius, not the deprecated
            # getRadius deck.gl warns about on the leader page
            get_point_radius=by_field("size_class", RADIUS, 5),
            point_radius_units="pixels",
            stroked=True,
            get_line_color=[255, 255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
        ),
        stack=6,
        pages=frozen(leader=False),
        card="organisation",
    ),
)
