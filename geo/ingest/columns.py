"""Match a file's column headers (Chinese or English, any case) to a kind's fields."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from geo.errors import InvalidInput
from geo.ingest.spec import LAT_ALIASES, LON_ALIASES, Spec

MAX_NAMES = 40  # column names quoted back in a message, at most
MAX_NAME_CHARS = 64
_BRACKETS = re.compile(r"[\(（\[【].*?[\)）\]】]")
_SEPARATORS = re.compile(r"[\s_\-/:：]+")


def quoted_names(names: Sequence[object]) -> str:
    """Column names for a message: printable characters only, each cut to MAX_NAME_CHARS, at most
    MAX_NAMES of them (a message never carries more of a file than its header)."""
    shown = []
    for name in names[:MAX_NAMES]:
        text = "".join(c if c.isprintable() else "?" for c in str(name))
        shown.append(text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…")
    more = f" … and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
    return ", ".join(shown) + more


def normalise_header(name: str) -> str:
    """Lower case, bracketed units/notes dropped, separators removed: '经度(GCJ02)' → '经度'."""
    text = _BRACKETS.sub("", str(name).strip().lower().lstrip("\ufeff"))
    return _SEPARATORS.sub("", text)


def candidates(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Every target (the fields plus lon/lat) with the header spellings it accepts, best first."""
    out = {f.name: (f.name, *f.aliases) for f in spec.fields}
    if spec.geom == "point":
        out["lon"] = LON_ALIASES
        out["lat"] = LAT_ALIASES
    return out


def match_columns(
    spec: Spec, headers: list[str], explicit: dict[str, str] | None = None
) -> dict[str, str]:
    """{target: source header}; explicit maps (target → source) win, an empty source leaves the
    target unmapped (the import screen's "not imported"); unknown names are InvalidInput."""
    explicit = dict(explicit or {})
    targets = candidates(spec)
    for target, source in explicit.items():
        if target not in targets:
            raise InvalidInput(
                f"--map {target}={source}: {spec.kind} has no field {target!r} "
                f"(fields: {', '.join(targets)})"
            )
        if source and source not in headers:
            raise InvalidInput(
                f"--map {target}={source}: the file has no column {source!r} "
                f"(columns: {quoted_names(list(headers))})"
            )
    mapping = {target: source for target, source in explicit.items() if source}
    taken = set(mapping.values())
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalise_header(header), header)
    for target, spellings in targets.items():
        if target in explicit:
            continue
        for spelling in spellings:
            found = by_norm.get(normalise_header(spelling))
            if found is not None and found not in taken:
                mapping[target] = found
                taken.add(found)
                break
    return mapping


def parse_map_options(items: list[str] | None, allow_empty: bool = False) -> dict[str, str]:
    """['target=source', …] from the CLI into a dict; InvalidInput on a malformed item.
    allow_empty: 'target=' is kept (as '') and leaves the target unmapped."""
    out: dict[str, str] = {}
    for item in items or []:
        target, sep, source = item.partition("=")
        if not sep or not target.strip() or not (source.strip() or allow_empty):
            raise InvalidInput(f"--map expects target=source, got {item!r}")
        out[target.strip()] = source.strip()
    return out


def select(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """The frame with columns renamed to targets, text trimmed, blanks as missing."""
    out = pd.DataFrame(index=frame.index)
    for target, source in mapping.items():
        col = frame[source]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            col = col.str.strip()
            col = col.where(col != "")
        out[target] = col
    return out
