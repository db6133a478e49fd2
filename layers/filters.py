"""Turn query parameters into a layer's catalog filters: typed values, SQL with `$N` parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from geo.errors import InvalidInput
from layers.catalog import Filter, Layer, audience_rank, filter_field

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


def where(
    bound: tuple[Bound, ...], first_index: int, own: str | None = None
) -> tuple[str, list[object]]:
    """`AND …` SQL for the filters, their placeholders numbered from `first_index`, and the args.

    `own`: the caller's row condition when rows outside it are served with public fields only
    (geo.scope `RowScope.public_rest`); a filter on a non-public field then matches own rows only,
    as it would on the masked (NULL) value."""
    parts: list[str] = []
    args: list[object] = []
    for i, b in enumerate(bound):
        cond = b.filter.sql.replace("$1", f"${first_index + i}")
        if own is not None and not b.public:
            cond = f"({own}) AND ({cond})"
        parts.append(f" AND ({cond})")
        args.append(b.value)
    return "".join(parts), args


def cache_key(bound: tuple[Bound, ...]) -> str:
    """Canonical text of the filters, for cache keys."""
    return "&".join(f"{b.filter.name}={b.value!s}" for b in bound)
