"""Turn query parameters into a layer's filters: typed values, and SQL fragments carrying them.

Each filter's fragment names its value by the key `f:<name>` (one filter of a name per request);
the composer (geo/compose.py) numbers the placeholders when the statement is compiled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from geo import compose
from geo.compose import Fragment
from geo.errors import InvalidInput
from layers.base import Filter, Layer, audience_rank, filter_field

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Bound:
    """A filter with its parsed value."""

    filter: Filter
    value: object
    raw: str
    public: bool = True  # the field it reads is public (else masked rows never match it)


def bind(layer: Layer, flt: Filter, value: object, raw: str) -> Bound:
    """A filter of `layer` bound to a parsed value."""
    return Bound(flt, value, raw, filter_field(layer, flt).audience == "public")


def _parse_value(flt: Filter, raw: str) -> object:
    if flt.type == "int":
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(f"filter {flt.name!r} must be an integer, got {raw!r}") from None
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidInput(f"filter {flt.name!r} is out of range: {raw!r}")
        return value
    if flt.type == "enum":
        if raw not in flt.choices:
            raise InvalidInput(f"filter {flt.name!r} must be one of {', '.join(flt.choices)}")
        return raw
    if flt.type == "datetime":
        try:
            value_dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"filter {flt.name!r} must be an ISO 8601 instant, got {raw!r}"
            ) from None
        if value_dt.tzinfo is None:
            raise InvalidInput(
                f"filter {flt.name!r} needs a UTC offset (e.g. 2026-05-01T00:00+08:00)"
            )
        return value_dt
    if len(raw) > 200 or "\x00" in raw:
        raise InvalidInput(f"filter {flt.name!r} value is not acceptable")
    return raw


def parse(
    layer: Layer,
    params: Mapping[str, str],
    ignore: Iterable[str] = ("v",),
    audience: str | None = None,
) -> tuple[Bound, ...]:
    """The layer's filters set in `params` (sorted by name); unknown names or bad values raise.

    With `audience`, a filter on a field that audience may not read is refused (InvalidInput):
    filtering is reading, so `?org=` must not tell a caller what the row would not show it."""
    skip = set(ignore)
    bound: list[Bound] = []
    for name in sorted(params):
        if name in skip:
            continue
        flt = layer.filter(name)
        if flt is None:
            known = ", ".join(f.name for f in layer.filters) or "none"
            raise InvalidInput(
                f"unknown filter {name!r} for layer {layer.id!r} (accepted: {known})"
            )
        fld = filter_field(layer, flt)
        if audience is not None and audience_rank(fld.audience) > audience_rank(audience):
            raise InvalidInput(
                f"filter {name!r} of layer {layer.id!r} reads {fld.name!r}, "
                f"which the {audience} audience may not see"
            )
        value = _parse_value(flt, params[name])
        bound.append(Bound(flt, value, params[name], fld.audience == "public"))
    return tuple(bound)


def key(flt: Filter) -> str:
    """The parameter key of a filter's value in a composed statement."""
    return f"f:{flt.name}"


def where(bound: tuple[Bound, ...], own: Fragment | None = None, *, bind: bool = True) -> Fragment:
    """`AND (…)` per filter: the values bound into the fragment, or slots (`bind=False`) to fill
    per request with `values(bound)` (a cached statement shape).

    `own`: the caller's row condition when rows outside it are served with public fields only
    (geo.scope `RowScope.public_rest`); a filter on a non-public field then matches own rows only,
    as it would on the masked (NULL) value."""
    out = compose.EMPTY
    for b in bound:
        slot = compose.value(b.value, key(b.filter)) if bind else compose.param(key(b.filter))
        cond = b.filter.fragment(slot)
        if own is not None and not b.public:
            cond = compose.sql("({own}) AND ({cond})", own=own, cond=cond)
        out = out + compose.sql(" AND ({cond})", cond=cond)
    return out


def values(bound: tuple[Bound, ...]) -> dict[str, object]:
    """The filters' values by parameter key (for a statement composed with `bind=False`)."""
    return {key(b.filter): b.value for b in bound}


def cache_key(bound: tuple[Bound, ...]) -> str:
    """Canonical text of the filters, for cache keys."""
    return "&".join(f"{b.filter.name}={b.value!s}" for b in bound)
