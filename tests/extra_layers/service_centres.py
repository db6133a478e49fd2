"""A layer added as one module plus its SQL: the service centres, scoped like activities."""

from layers.base import Aggregation, Field, Layer, RowLink, org_filter, sql_beside
from layers.style import Legend, Style, frozen

COLOR = (30, 120, 200, 230)

LAYER = Layer(
    id="service_centres",
    title_zh="党群服务中心",
    title_en="Service centres",
    source_sql=sql_beside(__file__, "service_centres.sql"),
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("org_id", "t.org_id", "integer", title_en="Organisation"),
        Field("phone", "t.phone", audience="leader", title_zh="电话", title_en="Phone"),
    ),
    aggregation=Aggregation(method="cluster", cluster_below=6, breakdown="kind"),
    filters=(org_filter("org_id"),),
    version_tables=("service_points",),
    description="党群服务中心 (a layer registered by a test).",
    rows=RowLink(org="org_id"),  # rows of other subtrees stay public, with public fields
    style=Style(
        deck_type="ScatterplotLayer",
        default_color=COLOR,
        legend=(Legend(COLOR, "服务中心", "Service centre"),),
        tooltip="{name}",
        props=frozen(get_point_radius=7, point_radius_units="pixels", pickable=True),
        stack=8,
        pages=frozen(leader=True),
    ),
)
