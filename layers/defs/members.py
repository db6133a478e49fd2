"""SENSITIVE: member homes, admin only (never a collection); everyone else sees member heat."""

from geo.vocab import MEMBER_STATUSES
from layers.base import Aggregation, Field, Filter, Layer, RowLink, org_filter
from layers.style import Style, frozen

LAYER = Layer(
    id="members",
    title_zh="党员住址",
    title_en="Member homes",
    table="members",
    geom_column="home",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer", audience="admin"),
        Field("external_id", "t.external_id", audience="admin"),
        Field("name", "t.name", audience="admin"),
        Field("status", "t.status", audience="admin"),
        Field("branch_id", "t.branch_id", "integer", audience="admin"),
    ),
    audience="admin",
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=12, breakdown="status"),
    filters=(
        Filter("status", "enum", "t.status = {value}", "member status", MEMBER_STATUSES, "status"),
        org_filter("branch_id"),
    ),
    collection=False,
    version_tables=("members",),
    description="SENSITIVE: member homes, admin only; everyone else sees member_heat.",
    rows=RowLink(org="branch_id", self_id="id", public="never"),
    style=Style(
        deck_type="ScatterplotLayer", default_color=(200, 16, 46, 160), hints=frozen(radius=8)
    ),  # no stack: the pages never draw member homes
)
