"""What a map layer is: `Layer` and its parts (fields, filters, aggregation, row link, style).

A layer is one object that knows everything about itself: its source (a table, or a `.sql` file
beside its module), the fields each audience reads, the filters it accepts, how its rows hang on
the organisation tree (`RowLink`, applied by geo/scope.py), its heat metric, zoom range,
aggregation and how it draws (`layers/style.py`). Layers are hashable by id, so the tile and
feature code passes them around and caches per layer without looking them up again.

Audiences are ordered `AUDIENCES` (geo.vocab.ROLES, least to most trusted): an audience sees its
own and every lower audience's layers and fields; each role reads as the audience of its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from geo import compose
from geo.compose import Fragment
from geo.vocab import ROLES
from layers.style import Style

AUDIENCES: tuple[str, ...] = ROLES
FIELD_TYPES = ("string", "integer", "number", "boolean", "datetime", "integer_list")
# Fields whose value is a JSON array: served in features, never in tiles nor as queryables.
LIST_TYPES = ("integer_list",)
FILTER_TYPES = ("int", "str", "enum", "datetime")
RANKS = {audience: i for i, audience in enumerate(AUDIENCES)}


def audience_rank(audience: str) -> int:
    """Position of an audience in the order (unknown audiences read as public)."""
    return RANKS.get(audience, 0)


def audience_of(role: str) -> str:
    """The audience a role reads layers as (its own name; unknown roles read as public)."""
    return role if role in RANKS else "public"


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
    """A query parameter the layer accepts: an SQL template over alias `t` with a `{value}` hole.

    `field` names the layer field the fragment reads: an audience that may not read that field may
    not filter on it (a filter is a question about the field), and rows a caller sees with public
    fields only never match a filter on a non-public field (layers/filters.py). `org` marks a
    filter whose value names an organisation (checked to exist before a tile is rendered)."""

    name: str
    type: str
    sql: str
    description: str
    choices: tuple[str, ...] = ()
    field: str = ""
    org: bool = False

    def fragment(self, value: Fragment) -> Fragment:
        """The filter's condition with `value` (a bound value or a slot) in its hole."""
        return compose.sql(self.sql, value=value)


def org_filter(column: str) -> Filter:
    """The `org` filter: rows of one organisation's subtree, by the column naming it."""
    return Filter(
        "org",
        "int",
        f"t.{column} IN (SELECT s.id FROM org_subtree({{value}}::bigint) AS s)",
        "organisation id: only features of this organisation and its subtree",
        field=column,
        org=True,
    )


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


# The organisations an activity invites besides its organiser (`RowLink.invited` of activities).
ACTIVITY_INVITED = ("activity_invitations", "activity_id")


@dataclass(frozen=True)
class RowLink:
    """How a layer's (or table's) rows hang on the organisation tree; geo/scope.py applies it.

    `org`: the column naming the organisation a row belongs to; `member`: the column naming the
    member a row belongs to (check-ins); `self_id`: the member id column when rows are members.
    `public`: what rows outside the caller's own remain — `rest` (visible with public fields),
    `never` (invisible below admin; public sees none) or `place` (public places: org-bound roles
    see all of them, other subtrees' with public fields; members see all).
    `invited`: (table, column) of the organisations a row invites besides its `org` (the table's
    `org_id` where `column` is the row's `id`): a member of one of them sees the row as their own
    (activities' invited organisations)."""

    org: str | None = None
    member: str | None = None
    self_id: str | None = None
    public: str = "rest"
    invited: tuple[str, str] | None = None


@dataclass(frozen=True, eq=False)
class Layer:
    """One map layer (hash and equality by id)."""

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
    rows: RowLink | None = None  # None: rows hang on no organisation (never scoped)
    heat_metrics: tuple[str, ...] = ()  # names at /api/heatmap/{metric}, the first canonical
    style: Style = field(default_factory=Style)
    # a layer served from SQL whose items are written through the API (OGC API Features Part 4)
    # names the table the writes change (geo/live/feature_rows.py TABLES); None: read-only
    write_table: str | None = None

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layer) and other.id == self.id

    @property
    def source(self) -> str:
        """The FROM item (table or subquery) aliased `t`; identifiers from the layer only."""
        if self.source_sql:
            return f"({self.source_sql}) AS t"
        return f"{self.table} AS t"

    @property
    def is_heat(self) -> bool:
        """True for aggregated-only H3 heat layers."""
        return self.aggregation.method == "h3"

    @property
    def is_point(self) -> bool:
        """True when the geometry is a point (tiles partition points; shapes are clipped)."""
        return self.geom_type in ("Point", "MultiPoint")

    @property
    def heat_metric(self) -> str | None:
        """The canonical /api/heatmap metric of a heat layer."""
        return self.heat_metrics[0] if self.heat_metrics else None

    @property
    def deck(self) -> dict[str, object]:
        """The deck.gl description `GET /api/layers` gives (from the style)."""
        return self.style.describe()

    def filter(self, name: str) -> Filter | None:
        """The filter called `name`, or None."""
        return next((f for f in self.filters if f.name == name), None)


def sql_beside(module_file: str, name: str) -> str:
    """The text of the `.sql` file `name` beside a layer module (its source subquery)."""
    return (Path(module_file).parent / name).read_text(encoding="utf-8").strip().rstrip(";")


def fields_for(layer: Layer, audience: str) -> tuple[Field, ...]:
    """The fields of `layer` an audience may read (its own and lower audiences' fields)."""
    rank = audience_rank(audience)
    return tuple(f for f in layer.fields if audience_rank(f.audience) <= rank)


def scalar_fields(layer: Layer, audience: str) -> tuple[Field, ...]:
    """The fields of `layer` an audience may read that hold one value (tiles, queryables)."""
    return tuple(f for f in fields_for(layer, audience) if f.type not in LIST_TYPES)


def filter_field(layer: Layer, flt: Filter) -> Field:
    """The field a filter of the layer reads (every filter names one; checked at registration)."""
    found = next((f for f in layer.fields if f.name == flt.field), None)
    if found is None:
        raise ValueError(f"filter {flt.name!r} of layer {layer.id!r} reads no field of the layer")
    return found


def filters_for(layer: Layer, audience: str) -> tuple[Filter, ...]:
    """The filters of `layer` an audience may use (those reading fields it may see)."""
    rank = audience_rank(audience)
    return tuple(f for f in layer.filters if audience_rank(filter_field(layer, f).audience) <= rank)


def can_see(layer: Layer, audience: str) -> bool:
    """True when `audience` may see `layer`."""
    return audience_rank(layer.audience) <= audience_rank(audience)
