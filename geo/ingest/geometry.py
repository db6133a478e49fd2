"""Coordinate and geometry checks: parse, convert to WGS84, catch swaps, ranges and invalid shapes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo import crs as crsmod
from geo.ingest.problems import Problems, to_float

Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]

POLYGONAL = {"Polygon", "MultiPolygon"}
LINEAR = {"LineString", "MultiLineString"}


def _fmt(a: float, b: float) -> str:
    return f"({a:g}, {b:g})"


def _in_range(lon: Floats, lat: Floats) -> npt.NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)


def check_points(
    x_raw: pd.Series | None,
    y_raw: pd.Series | None,
    crs: str,
    china_only: bool,
    required: bool,
    problems: Problems,
) -> tuple[Floats, Floats]:
    """WGS84 lon/lat for text coordinates in `crs`; NaN where missing or bad (rows marked bad)."""
    n = problems.n
    if x_raw is None or y_raw is None:
        if required:
            problems.error(np.ones(n, bool), "missing_coordinates", "no coordinates")
        return np.full(n, np.nan), np.full(n, np.nan)
    x = to_float(x_raw).to_numpy(dtype=np.float64, na_value=np.nan)
    y = to_float(y_raw).to_numpy(dtype=np.float64, na_value=np.nan)
    x_missing = x_raw.isna().to_numpy()
    y_missing = y_raw.isna().to_numpy()
    both_missing = x_missing & y_missing
    either = x_missing | y_missing
    missing = either if required else either & ~both_missing
    problems.error(missing, "missing_coordinates", "longitude or latitude is empty")
    bad_x = ~x_missing & ~np.isfinite(x)
    bad_y = ~y_missing & ~np.isfinite(y)
    problems.error(
        bad_x | bad_y,
        "non_numeric_coordinates",
        lambda v: [f"coordinates ({s}) are not numbers" for s in v],
        "lon/lat",
        lambda idx: x_raw.iloc[idx].astype(str).str.cat(y_raw.iloc[idx].astype(str), sep=", "),
    )
    return _convert_and_check(x, y, crs, china_only, problems)


def _convert_and_check(
    x: Floats, y: Floats, crs: str, china_only: bool, problems: Problems
) -> tuple[Floats, Floats]:
    """Convert to WGS84, then flag probable swaps, out-of-range and (optionally) outside China."""
    with np.errstate(invalid="ignore"):
        lon, lat = crsmod.to_wgs84(x, y, crs)
        slon, slat = crsmod.to_wgs84(y, x, crs)
    ok = _in_range(lon, lat)
    swap_ok = _in_range(slon, slat)
    finite_input = np.isfinite(x) & np.isfinite(y)

    def swapped_msg(idx: pd.Series) -> list[str]:
        return [
            f"coordinates {v} look like (lat, lon): longitude and latitude swapped?" for v in idx
        ]

    def range_msg(idx: pd.Series) -> list[str]:
        return [f"coordinates {v} are outside lon ±180 / lat ±90" for v in idx]

    values = _pairs(x, y)
    inside = ok & crsmod.in_china(lon, lat)
    swap_inside = swap_ok & crsmod.in_china(slon, slat)
    swapped = finite_input & ((~ok & swap_ok) | (china_only & ~inside & swap_inside))
    problems.error(swapped, "lonlat_swapped", swapped_msg, "lon/lat", values)
    problems.error(finite_input & ~ok & ~swapped, "out_of_range", range_msg, "lon/lat", values)
    if china_only:
        problems.error(
            finite_input & ok & ~inside & ~swapped,
            "outside_china",
            lambda v: [f"coordinates {s} are outside China" for s in v],
            "lon/lat",
            values,
        )
    return lon, lat


def _pairs(x: Floats, y: Floats) -> Callable[[npt.NDArray[np.int64]], pd.Series]:
    """'(x, y)' text, built only for the rows a message needs."""
    return lambda idx: pd.Series([_fmt(float(x[i]), float(y[i])) for i in idx])


def _masked(geoms: Objects, rows: npt.NDArray[np.bool_]) -> Objects:
    """The geometries where `rows`, None elsewhere."""
    out = np.array(geoms, dtype=object, copy=True)
    out[~np.asarray(rows, dtype=bool)] = None
    return out


def points_from_geometry(
    geoms: Objects, crs: str, china_only: bool, required: bool, problems: Problems
) -> tuple[Floats, Floats]:
    """Lon/lat from point geometries (a one-point MultiPoint is accepted)."""
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if required:
        problems.error(missing, "missing_geometry", "no geometry")
    types = shapely.get_type_id(geoms)
    single_multi = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    geoms = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    types = shapely.get_type_id(geoms)
    wrong = ~missing & (types != 0)
    problems.error(wrong, "wrong_geometry_type", "expected a Point geometry")
    x = np.where(types == 0, shapely.get_x(_masked(geoms, types == 0)), np.nan)
    y = np.where(types == 0, shapely.get_y(_masked(geoms, types == 0)), np.nan)
    return _convert_and_check(x.astype(np.float64), y.astype(np.float64), crs, china_only, problems)


def check_shapes(
    geoms: Objects, want: str, crs: str, china_only: bool, problems: Problems
) -> Objects:
    """Polygons (as MultiPolygon) or LineStrings/MultiLineStrings in WGS84; bad rows marked."""
    allowed = POLYGONAL if want == "polygon" else LINEAR
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.error(missing, "missing_geometry", "no geometry")
    kinds = pd.Series(shapely.get_type_id(geoms)).map(_TYPE_NAMES).fillna("None")
    wrong = ~missing & ~kinds.isin(allowed).to_numpy()
    problems.error(
        wrong,
        "wrong_geometry_type",
        lambda v: [f"expected {' or '.join(sorted(allowed))}, got {t}" for t in v],
        "geometry",
        kinds,
    )
    usable = ~missing & ~wrong
    out = np.full(len(geoms), None, dtype=object)
    # stored columns are 2D: drop Z/M (3D GeoJSON, PolygonZ shapefiles)
    out[usable] = shapely.force_2d(crsmod.geometries_to_wgs84(geoms[usable], crs))
    _check_bounds(out, usable, china_only, problems)
    return _repair(out, usable, want, problems)


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def _check_bounds(
    geoms: Objects, rows: npt.NDArray[np.bool_], china_only: bool, p: Problems
) -> None:
    b = shapely.bounds(_masked(geoms, rows))
    ok = _in_range(b[:, 0], b[:, 1]) & _in_range(b[:, 2], b[:, 3])
    p.error(rows & ~ok, "out_of_range", "geometry has coordinates outside lon ±180 / lat ±90")
    if china_only:
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        inside = crsmod.in_china(cx, cy)
        swapped = rows & ok & ~inside & crsmod.in_china(cy, cx)
        p.error(swapped, "lonlat_swapped", "geometry looks like (lat, lon): coordinates swapped?")
        p.error(rows & ok & ~inside & ~swapped, "outside_china", "geometry is outside China")


def _repair(geoms: Objects, rows: npt.NDArray[np.bool_], want: str, p: Problems) -> Objects:
    """make_valid invalid shapes when the result keeps the dimension; warn 'repaired' or error."""
    invalid = rows & ~shapely.is_valid(_masked(geoms, rows))
    if invalid.any():
        idx = np.flatnonzero(invalid)
        reasons = shapely.is_valid_reason(geoms[idx])
        fixed = np.empty(len(idx), dtype=object)
        fixed[:] = [_same_dimension(shapely.make_valid(g), want) for g in geoms[idx]]
        ok = np.array([g is not None for g in fixed], dtype=bool)
        geoms[idx[ok]] = fixed[ok]
        reason = pd.Series(reasons, index=idx)
        good_mask = np.zeros(len(geoms), bool)
        good_mask[idx[ok]] = True
        bad_mask = np.zeros(len(geoms), bool)
        bad_mask[idx[~ok]] = True
        full = pd.Series(reason.reindex(range(len(geoms))).to_numpy())
        p.warn(
            good_mask,
            "repaired",
            lambda v: [f"invalid geometry ({r}) repaired with make_valid" for r in v],
            "geometry",
            full,
        )
        p.error(
            bad_mask,
            "invalid_geometry",
            lambda v: [f"invalid geometry ({r}) that make_valid cannot keep as {want}" for r in v],
            "geometry",
            full,
        )
    if want == "polygon":
        single = rows & (shapely.get_type_id(_masked(geoms, rows)) == 3)
        if single.any():
            geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return geoms


def _same_dimension(geom: shapely.Geometry, want: str) -> shapely.Geometry | None:
    """The polygonal (or linear) part of a repaired shape, or None when nothing of it is left."""
    dim = 2 if want == "polygon" else 1
    parts = [g for g in shapely.get_parts(geom) if shapely.get_dimensions(g) == dim]
    parts = [g for g in shapely.get_parts(np.array(parts, dtype=object)) if not g.is_empty]
    if not parts:
        return None
    merged = shapely.union_all(parts) if dim == 2 else shapely.line_merge(shapely.union_all(parts))
    if merged.is_empty or not merged.is_valid:
        return None
    if dim == 2 and merged.geom_type in POLYGONAL:
        return merged
    if dim == 1 and merged.geom_type in LINEAR:
        return merged
    return None


def split_lines(
    geoms: Objects, codes: pd.Series
) -> tuple[Objects, list[str], npt.NDArray[np.int64]]:
    """MultiLineStrings split into LineStrings; codes get '-1', '-2' … when a row has several parts."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    counts = np.bincount(index, minlength=len(geoms))
    order = np.zeros(len(parts), dtype=np.int64)
    if len(parts):
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        order = np.arange(len(parts)) - starts[index] + 1
    base = codes.to_numpy()[index]
    new_codes = [
        f"{c}-{k}" if counts[i] > 1 else str(c)
        for c, k, i in zip(base, order.tolist(), index.tolist(), strict=True)
    ]
    return parts, new_codes, index
