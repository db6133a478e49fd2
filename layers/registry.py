"""The registry of layers: every module of layers/defs, plus layers registered at run time.

The definitions are loaded on first use (nothing is read at import). `register` adds a layer
(a plug-in, or a test's), checked like the built-in ones; everything that serves layers — tiles,
TileJSON, OGC features, scope, the pages — finds it here, with no other change.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from geo.errors import NotFound
from layers import defs
from layers.base import AUDIENCES, FIELD_TYPES, FILTER_TYPES, Layer, audience_rank, filter_field

_LOCK = threading.Lock()
_LAYERS: dict[str, Layer] = {}
_LOADED = False


def check(layer: Layer) -> None:
    """ValueError unless the layer is well formed (audiences, types, filters naming fields)."""
    problems = []
    if layer.audience not in AUDIENCES:
        problems.append(f"audience {layer.audience!r}")
    if (layer.table is None) == (layer.source_sql is None):
        problems.append("exactly one of table and source_sql")
    if not 0 <= layer.minzoom <= layer.maxzoom <= 24:
        problems.append("zoom range")
    if not layer.version_tables:
        problems.append("version_tables")
    for f in layer.fields:
        if f.type not in FIELD_TYPES or f.audience not in AUDIENCES:
            problems.append(f"field {f.name!r}")
    for flt in layer.filters:
        if flt.type not in FILTER_TYPES or "{value}" not in flt.sql:
            problems.append(f"filter {flt.name!r}")
    if problems:
        raise ValueError(f"layer {layer.id!r} is malformed: {', '.join(problems)}")
    for flt in layer.filters:
        filter_field(layer, flt)


def _load() -> None:
    global _LOADED
    with _LOCK:
        if _LOADED:
            return
        for info in sorted(pkgutil.iter_modules(defs.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{defs.__name__}.{info.name}")
            layer = getattr(module, "LAYER", None)
            if isinstance(layer, Layer):
                check(layer)
                _LAYERS.setdefault(layer.id, layer)
        _LOADED = True


def _all() -> dict[str, Layer]:
    if not _LOADED:
        _load()
    return _LAYERS


def register(layer: Layer) -> Layer:
    """Add a layer (ValueError when malformed or when its id is taken)."""
    check(layer)
    layers = _all()
    with _LOCK:
        if layer.id in layers:
            raise ValueError(f"layer {layer.id!r} is already registered")
        layers[layer.id] = layer
    return layer


def unregister(layer_id: str) -> None:
    """Remove a layer registered at run time (its id must not be reused in this process)."""
    with _LOCK:
        _all().pop(layer_id, None)


@contextmanager
def registered(layer: Layer) -> Iterator[Layer]:
    """The layer registered for the duration of a `with` block."""
    register(layer)
    try:
        yield layer
    finally:
        unregister(layer.id)


def _order(layer: Layer) -> tuple[int, str]:
    stack = layer.style.stack
    return (stack if stack is not None else 1_000, layer.id)


def layers() -> tuple[Layer, ...]:
    """Every layer, in stacking order (bottom first; layers the pages never draw last)."""
    return tuple(sorted(_all().values(), key=_order))


def by_id() -> Mapping[str, Layer]:
    """Id → layer (a read-only view)."""
    return MappingProxyType(_all())


def get(layer_id: str) -> Layer:
    """The layer called `layer_id` (NotFound when there is none)."""
    found = _all().get(layer_id)
    if found is None:
        raise NotFound(f"unknown layer {layer_id!r}; known: {', '.join(sorted(_all()))}")
    return found


def visible(audience: str) -> tuple[Layer, ...]:
    """The layers an audience may see, in stacking order."""
    rank = audience_rank(audience)
    return tuple(layer for layer in layers() if audience_rank(layer.audience) <= rank)


def collections(audience: str) -> tuple[Layer, ...]:
    """The visible layers that are OGC API Features collections."""
    return tuple(layer for layer in visible(audience) if layer.collection)


def by_heat_metric(metric: str) -> Layer:
    """The heat layer published at /api/heatmap/{metric} (NotFound when there is none)."""
    for layer in layers():
        if metric in layer.heat_metrics:
            return layer
    known = ", ".join(m for layer in layers() for m in layer.heat_metrics)
    raise NotFound(f"unknown heat metric {metric!r}; known: {known}")


def heat_metrics() -> tuple[str, ...]:
    """Every heat metric name, canonical names first per layer."""
    return tuple(m for layer in layers() for m in layer.heat_metrics)


def heat_of(table: str) -> Layer | None:
    """The heat layer published from a table's rows (e.g. the one counting members)."""
    return next((x for x in layers() if x.is_heat and x.table == table), None)


def of_table(table: str) -> Layer | None:
    """The (non-heat) collection layer over a table, for pages that show its rows as cards."""
    return next((x for x in layers() if x.table == table and x.collection), None)
