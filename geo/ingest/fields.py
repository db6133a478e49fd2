"""Per-field checks, vectorised: required values, numbers, dates, enums, references, file paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.ingest.problems import Problems, to_float
from geo.ingest.spec import Field, Spec

LOCAL_TZ = "Asia/Shanghai"  # naive times in a file are Beijing time
_HAS_OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
REF_CODES = {
    "parent_code": "unknown_parent",
    "branch_code": "unknown_branch",
    "org_code": "unknown_org",
    "organiser_code": "unknown_organiser",
    "service_point_code": "unknown_service_point",
    "building_code": "unknown_building",
    "leader_code": "unknown_member",
}


@dataclass
class Lookups:
    """What the database already holds that a file may refer to."""

    codes: dict[str, set[str]] = field(default_factory=dict)
    org_types: set[str] = field(default_factory=set)
    org_parents: dict[str, str | None] = field(default_factory=dict)


def _missing(n: int) -> pd.Series:
    return pd.Series([np.nan] * n, dtype=object)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column `name`, or an all-missing one when the file has none."""
    return frame[name].reset_index(drop=True) if name in frame else _missing(len(frame))


def parse_dates(col: pd.Series) -> pd.Series:
    """Dates from ISO text, '2020/1/5', '2020.01.05' or '2020年1月5日' (NaT where unreadable)."""
    out = pd.to_datetime(col, format="ISO8601", errors="coerce")
    retry = col.notna() & out.isna()
    if retry.any():
        alt = (
            col[retry]
            .str.replace(r"[年月/.]", "-", regex=True)
            .str.replace("日", "", regex=False)
            .str.strip()
        )
        out[retry] = pd.to_datetime(alt, format="mixed", errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize()


def parse_datetimes(col: pd.Series) -> pd.Series:
    """UTC timestamps from ISO 8601 text; times without an offset are taken as Beijing time."""
    text = col.astype("string")
    aware = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(col[aware], format="ISO8601", utc=True, errors="coerce")
    naive = ~aware & col.notna().to_numpy()
    if naive.any():
        local = pd.to_datetime(col[naive], format="ISO8601", errors="coerce")
        out[naive] = local.dt.tz_localize(
            LOCAL_TZ, ambiguous="NaT", nonexistent="NaT"
        ).dt.tz_convert("UTC")
    return out


def check_required(f: Field, col: pd.Series, header: str | None, p: Problems) -> None:
    """Error on empty required values."""
    if f.required:
        p.error(col.isna().to_numpy(), "missing_required", f"{f.name} is empty", header)


def check_number(f: Field, col: pd.Series, header: str | None, p: Problems) -> pd.Series:
    """Numbers (ints must be whole), with the field's range."""
    num = to_float(col)
    present = col.notna().to_numpy()
    bad = present & ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
    if f.type == "int":
        whole = (num % 1 == 0).fillna(False).to_numpy(dtype=bool)
        bad |= present & ~bad & ~whole
    if f.type == "int":  # the columns are PostgreSQL integers
        with np.errstate(invalid="ignore"):
            bad |= present & ~bad & (np.abs(num.to_numpy(dtype=float, na_value=0.0)) > 2**31 - 1)
    kind = "a whole number" if f.type == "int" else "a number"
    p.error(bad, "bad_number", lambda v: [f"{f.name} {s!r} is not {kind}" for s in v], header, col)
    vals = num.to_numpy(dtype=float, na_value=np.nan)
    ok = present & ~bad
    with np.errstate(invalid="ignore"):
        if f.name == "capacity":
            p.error(ok & (vals < 0), "negative_capacity", "capacity is negative", header, col)
        elif f.minimum is not None or f.maximum is not None:
            lo = -np.inf if f.minimum is None else f.minimum
            hi = np.inf if f.maximum is None else f.maximum
            out = (vals < lo) | (vals > hi)
            if f.type == "float":
                out = (vals <= lo) | (vals >= hi)
            p.error(
                ok & out,
                "out_of_range_value",
                lambda v: [f"{f.name} {s} is outside {lo:g}..{hi:g}" for s in v],
                header,
                col,
            )
    if f.name == "heading":
        num = num % 360
    return num.round().astype("Int64") if f.type == "int" else num


def check_date(f: Field, col: pd.Series, header: str | None, p: Problems) -> pd.Series:
    """Dates or datetimes; unreadable ones are bad_date / bad_datetime."""
    parsed = parse_dates(col) if f.type == "date" else parse_datetimes(col)
    bad = col.notna().to_numpy() & parsed.isna().to_numpy()
    code = "bad_date" if f.type == "date" else "bad_datetime"
    what = "date" if f.type == "date" else "date-time (ISO 8601, e.g. 2025-05-01T09:00+08:00)"
    p.error(bad, code, lambda v: [f"{f.name} {s!r} is not a {what}" for s in v], header, col)
    return parsed


def check_enum(
    f: Field, col: pd.Series, header: str | None, allowed: dict[str, str], p: Problems
) -> pd.Series:
    """Values mapped to their stored spelling; unknown ones are bad_enum."""
    lookup = {k.lower(): v for k, v in allowed.items()}
    mapped = col.str.lower().map(lookup)
    bad = col.notna().to_numpy() & mapped.isna().to_numpy()
    choices = ", ".join(sorted(set(allowed.values())))
    p.error(
        bad,
        "bad_enum",
        lambda v: [f"{f.name} {s!r} is not one of {choices}" for s in v],
        header,
        col,
    )
    return mapped


def check_ref(
    f: Field, col: pd.Series, header: str | None, known: set[str], p: Problems
) -> pd.Series:
    """References by code to rows in the database or (for organisations) the same file."""
    bad = col.notna().to_numpy() & ~col.isin(known).to_numpy()
    target = (f.ref or "").rstrip("s").replace("_", " ")
    p.error(
        bad,
        REF_CODES.get(f.name, "unknown_reference"),
        lambda v: [f"{f.name} {s!r}: no such {target} in the file or the database" for s in v],
        header,
        col,
    )
    return col


def confined(value: str, base: Path) -> Path | None:
    """The file `value` names inside `base`, or None when it is absolute, walks up with '..' or
    resolves (through symlinks) to somewhere outside `base`."""
    if not value or value.startswith(("/", "\\", "~")) or Path(value).is_absolute():
        return None
    if ".." in Path(value.replace("\\", "/")).parts:
        return None
    root = base.resolve()
    target = (root / value).resolve()
    return target if target.is_relative_to(root) else None


def check_paths(f: Field, col: pd.Series, header: str | None, base: Path, p: Problems) -> pd.Series:
    """Files named relative to the import file and inside its folder (path_outside_folder
    otherwise, never opened); missing ones are missing_image."""
    targets = [confined(v, base) if isinstance(v, str) else None for v in col.tolist()]
    present = col.notna().to_numpy()
    outside = present & np.array([t is None for t in targets], dtype=bool)
    p.error(
        outside,
        "path_outside_folder",
        f"{f.name} must be a relative path inside the import file's folder",
        header,
        col,
    )
    exists = np.array([t is not None and t.is_file() for t in targets], dtype=bool)
    p.error(
        present & ~outside & ~exists,
        "missing_image",
        lambda v: [f"image file {s!r} not found" for s in v],
        header,
        col,
    )
    return pd.Series([str(t) if t is not None else np.nan for t in targets], dtype=object)


def check_fields(
    spec: Spec,
    frame: pd.DataFrame,
    headers: dict[str, str],
    lookups: Lookups,
    base: Path,
    p: Problems,
) -> dict[str, pd.Series]:
    """Every field of `spec` checked and typed; returns the typed columns."""
    out: dict[str, pd.Series] = {}
    key = column(frame, spec.key)
    for f in spec.fields:
        col = column(frame, f.name)
        header = headers.get(f.name)
        check_required(f, col, header, p)
        if f.type in ("int", "float"):
            out[f.name] = check_number(f, col, header, p)
        elif f.type in ("date", "datetime"):
            out[f.name] = check_date(f, col, header, p)
        elif f.type == "enum":
            allowed = f.enum or {t: t for t in lookups.org_types}
            out[f.name] = check_enum(f, col, header, allowed, p)
        elif f.type == "ref":
            known = set(lookups.codes.get(f.ref or "", set()))
            if f.ref == spec.table:
                known |= set(key.dropna())
            out[f.name] = check_ref(f, col, header, known, p)
        elif f.type == "path":
            out[f.name] = check_paths(f, col, header, base, p)
        else:
            out[f.name] = col
    check_duplicates(spec, key, headers.get(spec.key), p)
    return out


def check_duplicates(spec: Spec, key: pd.Series, header: str | None, p: Problems) -> None:
    """A key seen on an earlier row of the same file is duplicate_id (the first one stays)."""
    dup = key.notna() & key.duplicated(keep="first")
    if not dup.any():
        return
    first = key[key.notna()].drop_duplicates(keep="first")
    first_row = pd.Series(first.index.to_numpy() + 1, index=first.to_numpy())
    p.error(
        dup.to_numpy(),
        "duplicate_id",
        lambda v: [f"{spec.key} {s!r} already appears on row {first_row[s]}" for s in v],
        header,
        key,
        only_good=False,
    )
