"""The single catalog of map layers: what each layer is, who may see what of it, how it draws.

Tiles (`tiles/`), the OGC features API and the web pages read this module; nothing else
hard-codes a layer. Names here are stable: extend, don't rename.

Shape of the catalog
--------------------
- `Layer` (frozen): `id`, `title_zh`, `title_en`, `table` (source table) or `source_sql` (a
  FROM-clause subquery aliased `t`), `geom_column`, `geom_type` (Point, LineString, MultiPolygon,
  or `H3` for heat layers whose cells are published by `tiles/heat.py`), `key_column`,
  `fields` (tuple of `Field`), `audience` (the lowest audience that sees the layer at all),
  `minzoom`/`maxzoom`, `aggregation` (`Aggregation`), `filters` (tuple of `Filter`),
  `time_field`/`time_end_field` (activities), `collection` (True when it is an OGC API Features
  collection: members and the heat layers are not), `version_tables` (tables whose
  `data_versions` entries make its tiles stale), and `deck` (the pydeck/deck.gl style the web
  pages read: `type`, `color_field`, `colors` by kind, `default_color`, `icons` by kind,
  `tooltip` template with `{field}` placeholders, and drawing hints).
- `Field`: `name` (property name in tiles and features), `expr` (SQL over alias `t`; identifiers
  only, never user input), `type` (string | integer | number | boolean | datetime), `audience`
  (lowest audience that sees it), `title_zh`, `title_en`.
- `Filter`: `name` (query parameter), `type` (int | str | enum | datetime), `sql` (fragment with
  one `$1` placeholder over alias `t`, renumbered when combined), `description`, `choices` (enum).
- Audiences are ordered `AUDIENCES = public < member < leader < planner < admin`: an audience sees
  its own and every lower audience's layers and fields.

Functions: `get(layer_id)` (raises NotFound), `visible(audience)` (layers the audience may see),
`collections(audience)` (the visible layers that are features collections), `fields_for(layer,
audience)`, `can_see(layer, audience)`, `audience_rank(audience)`; `LAYERS` maps id → Layer.
Filters are parsed and turned into `$N` SQL by `layers/filters.py` (`parse`, `where`).

Tiles (`tiles/mvt.py`): a `cluster` layer's tiles are clusters below `cluster_below` and whenever
a tile holds more than `max_features` (5,000) source features or 500 KB; clusters carry `count`,
`cluster=true`, `cell` and `<breakdown>:<value>` counts. `none` layers (boundary) are drawn as
they are, simplified to the tile; a shape smaller than one tile unit (1/4096 of the tile) vanishes.

Privacy: member home points (`members` layer) are admin-only and never a collection;
`member_heat` publishes only H3 cell counts under the rule in `tiles/heat.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from geo.errors import NotFound
from geo.vocab import ACTIVITY_KINDS, MEMBER_STATUSES, ORG_TYPES, SERVICE_POINT_KINDS

AUDIENCES = ("public", "member", "leader", "planner", "admin")
FIELD_TYPES = ("string", "integer", "number", "boolean", "datetime")
FILTER_TYPES = ("int", "str", "enum", "datetime")


def audience_rank(audience: str) -> int:
    """Position of an audience in the order (unknown audiences read as public)."""
    return AUDIENCES.index(audience) if audience in AUDIENCES else 0


@dataclass(frozen=True)
class Field:
    """One property of a layer and the lowest audience allowed to read it."""

    name: str
    expr: str
    type: str = "string"
    audience: str = "public"
    title_zh: str = ""
    title_en: str = ""


@dataclass(frozen=True)
class Filter:
    """A query parameter the layer accepts, as an SQL fragment with one `$1` placeholder.

    `field` names the layer field the fragment reads: an audience that may not read that field may
    not filter on it (a filter is a question about the field), and rows a caller sees with public
    fields only never match a filter on a non-public field (layers/filters.py)."""

    name: str
    type: str
    sql: str
    description: str
    choices: tuple[str, ...] = ()
    field: str = ""


@dataclass(frozen=True)
class Aggregation:
    """How a layer's tiles stay complete and small when a tile holds too much.

    method: `cluster` (points, or centroids of shapes, counted on a grid of `cells`×`cells` per
    tile with a breakdown by `breakdown`), `h3` (published heat cells, `tiles/heat.py`), `none`.
    A tile is clustered below `cluster_below` zoom always, and at any zoom when it holds more than
    `max_features` source features or its points would exceed `max_bytes`. Shapes are simplified
    to the tile's pixel size (`simplify_px`) at every zoom.
    """

    method: str = "none"
    cells: int = 32
    cluster_below: int = 0
    max_features: int = 5_000
    max_bytes: int = 500_000
    breakdown: str | None = None
    simplify_px: float = 1.0


def _deck(**kwargs: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(kwargs))


@dataclass(frozen=True)
class Layer:
    """One map layer."""

    id: str
    title_zh: str
    title_en: str
    geom_column: str
    geom_type: str
    fields: tuple[Field, ...]
    table: str | None = None
    source_sql: str | None = None
    key_column: str = "id"
    audience: str = "public"
    minzoom: int = 0
    maxzoom: int = 22
    aggregation: Aggregation = field(default_factory=Aggregation)
    filters: tuple[Filter, ...] = ()
    time_field: str | None = None
    time_end_field: str | None = None
    collection: bool = True
    version_tables: tuple[str, ...] = ()
    description: str = ""
    deck: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def source(self) -> str:
        """The FROM item (table or subquery) aliased `t`; identifiers from this catalog only."""
        if self.source_sql:
            return f"({self.source_sql}) AS t"
        return f"{self.table} AS t"

    @property
    def is_heat(self) -> bool:
        """True for aggregated-only H3 heat layers."""
        return self.aggregation.method == "h3"

    def filter(self, name: str) -> Filter | None:
        """The filter called `name`, or None."""
        return next((f for f in self.filters if f.name == name), None)


def fields_for(layer: Layer, audience: str) -> tuple[Field, ...]:
    """The fields of `layer` an audience may read (its own and lower audiences' fields)."""
    rank = audience_rank(audience)
    return tuple(f for f in layer.fields if audience_rank(f.audience) <= rank)


def _org_filter(column: str) -> Filter:
    return Filter(
        "org",
        "int",
        f"t.{column} IN (SELECT s.id FROM org_subtree($1::bigint) AS s)",
        "organisation id: only features of this organisation and its subtree",
        field=column,
    )


TIME_FROM = Filter(
    "from",
    "datetime",
    "t.ends_at >= $1",
    "ISO 8601 instant: activities ending at or after it",
    field="ends_at",
)
TIME_TO = Filter(
    "to",
    "datetime",
    "t.starts_at < $1",
    "ISO 8601 instant: activities starting before it",
    field="starts_at",
)
RED = [200, 16, 46, 230]
GOLD = [255, 196, 0, 230]

_LAYERS: tuple[Layer, ...] = (
    Layer(
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
                "level", "str", "t.level = $1", "boundary level (district, 街道 …)", field="level"
            ),
        ),
        version_tables=("districts",),
        description="Administrative boundaries of the district and its 街道.",
        deck=_deck(
            type="GeoJsonLayer",
            filled=False,
            stroked=True,
            default_color=[180, 30, 30, 255],
            line_width=2,
            tooltip="{name}",
        ),
    ),
    Layer(
        id="organisations",
        title_zh="党组织",
        title_en="Party organisations",
        table="organisations",
        geom_column="geom",
        geom_type="Point",
        fields=(
            Field("id", "t.id", "integer"),
            Field("code", "t.code", title_zh="代码", title_en="Code"),
            Field("name", "t.name", title_zh="名称", title_en="Name"),
            Field("type", "t.type", title_zh="类型", title_en="Type"),
            Field("parent_id", "t.parent_id", "integer", title_zh="上级", title_en="Parent"),
            Field(
                "contact", "t.contact", audience="member", title_zh="联系方式", title_en="Contact"
            ),
            Field(
                "founded", "t.founded::text", audience="leader", title_zh="成立", title_en="Founded"
            ),
            Field("building_id", "t.building_id", "integer", audience="leader"),
        ),
        minzoom=0,
        maxzoom=22,
        aggregation=Aggregation(method="cluster", cluster_below=10, breakdown="type"),
        filters=(
            Filter("type", "enum", "t.type = $1", "organisation type", ORG_TYPES, "type"),
            _org_filter("id"),
        ),
        version_tables=("organisations",),
        description="党委 → 党总支 → 党支部 at their office or building.",
        deck=_deck(
            type="IconLayer",
            color_field="type",
            colors={"党委": RED, "党总支": [230, 80, 40, 230], "党支部": [250, 140, 60, 230]},
            default_color=RED,
            icons={
                "党委": "party-committee",
                "党总支": "party-general-branch",
                "党支部": "party-branch",
            },
            size={"党委": 36, "党总支": 30, "党支部": 24},
            tooltip="{name}（{type}）",
        ),
    ),
    Layer(
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
            Field(
                "opening_hours", "t.opening_hours", title_zh="开放时间", title_en="Opening hours"
            ),
            Field("capacity", "t.capacity", "integer", title_zh="容量", title_en="Capacity"),
            Field("phone", "t.phone", audience="member", title_zh="电话", title_en="Phone"),
            Field("org_id", "t.org_id", "integer", title_zh="所属组织", title_en="Organisation"),
        ),
        minzoom=0,
        maxzoom=22,
        aggregation=Aggregation(method="cluster", cluster_below=9, breakdown="kind"),
        filters=(
            Filter(
                "kind", "enum", "t.kind = $1", "service point kind", SERVICE_POINT_KINDS, "kind"
            ),
            _org_filter("org_id"),
        ),
        version_tables=("service_points",),
        description="党群服务中心, 党群服务站, 党员活动室 and 红色教育基地.",
        deck=_deck(
            type="IconLayer",
            color_field="kind",
            colors={
                "党群服务中心": RED,
                "党群服务站": [230, 90, 40, 230],
                "党员活动室": GOLD,
                "红色教育基地": [140, 20, 20, 230],
            },
            default_color=RED,
            icons={
                "党群服务中心": "service-centre",
                "党群服务站": "service-station",
                "党员活动室": "activity-room",
                "红色教育基地": "red-education",
            },
            tooltip="{name}（{kind}）<br/>{address}<br/>{opening_hours}",
        ),
    ),
    Layer(
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
                "ends_at",
                "to_json(t.ends_at) #>> '{}'",
                "datetime",
                title_zh="结束",
                title_en="Ends",
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
            Field(
                "organiser_id",
                "t.organiser_id",
                "integer",
                title_zh="组织者",
                title_en="Organiser",
            ),
        ),
        minzoom=0,
        maxzoom=22,
        aggregation=Aggregation(method="cluster", cluster_below=9, breakdown="kind"),
        filters=(
            Filter(
                "kind",
                "str",
                "t.kind = $1",
                f"activity kind ({', '.join(ACTIVITY_KINDS)} …)",
                field="kind",
            ),
            _org_filter("organiser_id"),
            Filter(
                "service_point",
                "int",
                "t.service_point_id = $1::bigint",
                "service point id",
                field="service_point_id",
            ),
            TIME_FROM,
            TIME_TO,
        ),
        time_field="starts_at",
        time_end_field="ends_at",
        version_tables=("activities",),
        description="三会一课, 主题党日, 志愿服务 … with their time span (filter with from/to).",
        deck=_deck(
            type="ScatterplotLayer",
            color_field="kind",
            colors={
                "三会一课": RED,
                "主题党日": [230, 90, 40, 230],
                "志愿服务": [40, 150, 90, 230],
                "学习": [40, 100, 200, 230],
                "组织生活会": GOLD,
                "红色教育": [140, 20, 20, 230],
            },
            default_color=[120, 120, 120, 230],
            radius=40,
            tooltip="{title}（{kind}）<br/>{starts_at} – {ends_at}",
        ),
    ),
    Layer(
        id="buildings",
        title_zh="建筑",
        title_en="Buildings",
        table="buildings",
        geom_column="geom",
        geom_type="MultiPolygon",
        fields=(
            Field("id", "t.id", "integer"),
            Field("code", "t.code", title_zh="代码", title_en="Code"),
            Field("name", "t.name", title_zh="名称", title_en="Name"),
            Field("use", "t.use", title_zh="用途", title_en="Use"),
            Field("height_m", "t.height_m", "number", title_zh="高度", title_en="Height (m)"),
            Field("floors", "t.floors", "integer", title_zh="层数", title_en="Floors"),
            Field(
                "has_org",
                "EXISTS (SELECT 1 FROM organisations o WHERE o.building_id = t.id)",
                "boolean",
                title_zh="驻有党组织",
                title_en="Hosts a party organisation",
            ),
        ),
        minzoom=0,
        maxzoom=22,
        aggregation=Aggregation(method="cluster", cluster_below=13, breakdown="use"),
        filters=(Filter("use", "str", "t.use = $1", "building use", field="use"),),
        version_tables=("buildings", "organisations"),
        description="Building footprints with heights (3D: /api/3dtiles/buildings/tileset.json).",
        deck=_deck(
            type="GeoJsonLayer",
            extruded=True,
            elevation_field="height_m",
            color_field="has_org",
            colors={"true": RED, "false": [200, 200, 200, 200]},
            default_color=[200, 200, 200, 200],
            tooltip="{name}<br/>{use} · {height_m} m",
        ),
    ),
    Layer(
        id="roads",
        title_zh="道路",
        title_en="Roads",
        table="roads",
        geom_column="geom",
        geom_type="LineString",
        fields=(
            Field("id", "t.id", "integer"),
            Field("code", "t.code", title_zh="代码", title_en="Code"),
            Field("name", "t.name", title_zh="名称", title_en="Name"),
            Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
            Field("length_m", "t.length_m", "number", audience="planner", title_en="Length (m)"),
        ),
        minzoom=0,
        maxzoom=22,
        aggregation=Aggregation(method="cluster", cluster_below=11, breakdown="kind"),
        filters=(Filter("kind", "str", "t.kind = $1", "road kind", field="kind"),),
        version_tables=("roads",),
        description="The walking network (pgRouting) used for 15-minute coverage.",
        deck=_deck(
            type="GeoJsonLayer",
            stroked=True,
            default_color=[110, 110, 110, 200],
            colors={"primary": [90, 90, 90, 230], "street": [130, 130, 130, 200]},
            color_field="kind",
            line_width=2,
            tooltip="{name}",
        ),
    ),
    Layer(
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
            Filter("status", "enum", "t.status = $1", "member status", MEMBER_STATUSES, "status"),
            _org_filter("branch_id"),
        ),
        collection=False,
        version_tables=("members",),
        description="SENSITIVE: member homes, admin only; everyone else sees member_heat.",
        deck=_deck(type="ScatterplotLayer", default_color=[200, 16, 46, 160], radius=8),
    ),
    Layer(
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
        deck=_deck(
            type="H3HexagonLayer",
            hexagon_field="cell",
            weight_field="count",
            color_range=[[255, 237, 160], [254, 178, 76], [240, 59, 32], [189, 0, 38]],
            tooltip="{count} 名党员",
        ),
    ),
    Layer(
        id="activity_heat",
        title_zh="活动参与热力",
        title_en="Activity participation",
        source_sql=(
            "SELECT c.id, c.member_id, c.checked_at, a.geom FROM checkins c "
            "JOIN activities a ON a.id = c.activity_id"
        ),
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
        deck=_deck(
            type="H3HexagonLayer",
            hexagon_field="cell",
            weight_field="count",
            color_range=[[255, 245, 235], [253, 174, 107], [241, 105, 19], [166, 54, 3]],
            tooltip="{count} 人次签到",
        ),
    ),
)

LAYERS: Mapping[str, Layer] = MappingProxyType({layer.id: layer for layer in _LAYERS})


def filter_field(layer: Layer, flt: Filter) -> Field:
    """The field a filter of the layer reads (every catalog filter names one; checked at import)."""
    found = next((f for f in layer.fields if f.name == flt.field), None)
    if found is None:
        raise ValueError(f"filter {flt.name!r} of layer {layer.id!r} reads no field of the layer")
    return found


for _layer in _LAYERS:
    for _flt in _layer.filters:
        filter_field(_layer, _flt)


def filters_for(layer: Layer, audience: str) -> tuple[Filter, ...]:
    """The filters of `layer` an audience may use (those reading fields it may see)."""
    rank = audience_rank(audience)
    return tuple(f for f in layer.filters if audience_rank(filter_field(layer, f).audience) <= rank)


def get(layer_id: str) -> Layer:
    """The layer called `layer_id` (NotFound when there is none)."""
    try:
        return LAYERS[layer_id]
    except KeyError:
        raise NotFound(f"unknown layer {layer_id!r}; known: {', '.join(LAYERS)}") from None


def visible(audience: str) -> tuple[Layer, ...]:
    """The layers an audience may see, in catalog order."""
    rank = audience_rank(audience)
    return tuple(layer for layer in _LAYERS if audience_rank(layer.audience) <= rank)


def collections(audience: str) -> tuple[Layer, ...]:
    """The visible layers that are OGC API Features collections."""
    return tuple(layer for layer in visible(audience) if layer.collection)


def can_see(layer: Layer, audience: str) -> bool:
    """True when `audience` may see `layer`."""
    return audience_rank(layer.audience) <= audience_rank(audience)
