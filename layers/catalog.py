"""The catalog of map layers: one import for what the rest of djmap asks about layers.

Each layer lives in its own module under layers/defs (with its SQL beside it); layers/base.py says
what a layer is, layers/style.py how it draws, layers/registry.py finds them. Tiles (`tiles/`),
the OGC features API, scope (`geo/scope.py`) and the web pages read layers through here; nothing
else hard-codes a layer.

Privacy: member home points (`members`) are admin-only and never a collection; the members' heat
layer publishes only H3 cell counts under the rule in `tiles/heat.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from layers.base import (
    AUDIENCES,
    FIELD_TYPES,
    FILTER_TYPES,
    Aggregation,
    Field,
    Filter,
    Layer,
    RowLink,
    audience_of,
    audience_rank,
    can_see,
    fields_for,
    filter_field,
    filters_for,
    org_filter,
    scalar_fields,
)
from layers.registry import (
    by_heat_metric,
    collections,
    get,
    heat_metrics,
    heat_of,
    layers,
    of_table,
    register,
    registered,
    unregister,
    visible,
)

__all__ = [
    "AUDIENCES",
    "FIELD_TYPES",
    "FILTER_TYPES",
    "Aggregation",
    "Field",
    "Filter",
    "Layer",
    "RowLink",
    "audience_of",
    "audience_rank",
    "by_heat_metric",
    "can_see",
    "collections",
    "fields_for",
    "filter_field",
    "filters_for",
    "get",
    "heat_metrics",
    "heat_of",
    "layers",
    "of_table",
    "org_filter",
    "register",
    "registered",
    "scalar_fields",
    "unregister",
    "visible",
]


def __getattr__(name: str) -> Any:
    if name == "LAYERS":  # id → layer, as registered now
        from layers.registry import by_id

        found: Mapping[str, Layer] = by_id()
        return found
    raise AttributeError(name)
