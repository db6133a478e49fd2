"""Validate a whole file before anything is written; produce the rows to stage and the problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely

from geo.crs import normalise_crs
from geo.ingest import geometry as geom
from geo.ingest import life
from geo.ingest.columns import candidates, match_columns, quoted_names, select
from geo.ingest.fields import Lookups, check_fields, column
from geo.ingest.problems import Problems
from geo.ingest.readers import Source, file_error
from geo.ingest.spec import Spec
from geo.ingest.tree import check_tree

# identifiers below come from this fixed map only (never from input)
_CODE_SQL = {
    "organisations": "SELECT code FROM organisations",
    "buildings": "SELECT code FROM buildings",
    "service_points": "SELECT code FROM service_points",
    "members": "SELECT external_id FROM members",
}
_ORG_PARENTS_SQL = (
    "SELECT o.code, p.code FROM organisations o LEFT JOIN organisations p ON p.id = o.parent_id"
)


@dataclass
class Options:
    """How to read a file: CRS override, China-only, explicit column map."""

    crs: str | None = None
    china_only: bool = False
    columns: dict[str, str] | None = None


@dataclass
class Prepared:
    """The typed rows ready to stage (all rows; `problems.good` says which to write)."""

    frame: pd.DataFrame
    problems: Problems
    mapping: dict[str, str]
    crs: str
    rows_total: int


def load_lookups(conn: psycopg.Connection, spec: Spec) -> Lookups:
    """Codes the file may refer to, org types and the current organisation tree."""
    lk = Lookups()
    for f in spec.fields:
        if f.type == "ref" and f.ref in _CODE_SQL:
            lk.codes[f.ref] = {r[0] for r in conn.execute(_CODE_SQL[f.ref])}
    lk.org_types = {r[0] for r in conn.execute("SELECT code FROM org_types")}
    if spec.table == "organisations":
        lk.org_parents = {r[0]: r[1] for r in conn.execute(_ORG_PARENTS_SQL)}
    return lk


def _require_columns(spec: Spec, source: Source, mapping: dict[str, str], path: Path) -> None:
    """Whole-file error when a required column (or lon/lat for a table of points) is absent."""
    missing = [f.name for f in spec.fields if f.required and f.name not in mapping]
    if spec.geom == "point" and source.geometry is None and spec.geom_required:
        missing += [c for c in ("lon", "lat") if c not in mapping]
    if spec.geom in ("polygon", "line") and source.geometry is None:
        raise file_error(
            path,
            f"{spec.kind} need geometries: use GeoJSON, GeoPackage or a zipped Shapefile",
            "missing_geometry_column",
        )
    if missing:
        accepted = candidates(spec)
        hints = "; ".join(f"{m}: {', '.join(accepted[m][:6])}" for m in missing)
        raise file_error(
            path,
            f"missing column(s) {', '.join(missing)} (accepted headers: {hints}; or --map "
            f"target=source). The file has: {quoted_names(list(source.frame.columns))}",
            "missing_column",
        )


def source_crs(source: Source, options: Options, p: Problems) -> str:
    """--crs wins; then the file's own CRS; then WGS84 (with a warning for GIS files)."""
    if options.crs:
        chosen = normalise_crs(options.crs)
        if source.crs and normalise_crs(source.crs) != chosen:
            p.file_warning("crs_override", f"file declares {source.crs}; using --crs {chosen}")
        return chosen
    if source.crs:
        return normalise_crs(source.crs)
    if source.geometry is not None:
        p.file_warning("crs_assumed", "the file declares no CRS; assuming EPSG:4326 (use --crs)")
    return "EPSG:4326"


def prepare(spec: Spec, source: Source, options: Options, lookups: Lookups, path: Path) -> Prepared:
    """Check every row of `source`; returns typed columns for staging plus the problems."""
    mapping = match_columns(spec, list(source.frame.columns), options.columns)
    _require_columns(spec, source, mapping, path)
    frame = select(source.frame, mapping).reset_index(drop=True)
    n = len(frame)
    p = Problems(n)
    crs = source_crs(source, options, p)
    unused = [h for h in source.frame.columns if h not in mapping.values()]
    if unused:
        p.file_warning("ignored_columns", f"columns not imported: {quoted_names(unused)}")
    out = check_fields(spec, frame, mapping, lookups, path.parent, p)
    out[spec.key] = column(frame, spec.key)
    if spec.geom == "point":
        _points(spec, frame, source, crs, options, p, out)
    elif spec.geom != "none":
        assert source.geometry is not None
        shapes = geom.check_shapes(source.geometry, spec.geom, crs, options.china_only, p)
        out["geom"] = pd.Series(shapes, dtype=object)
    _kind_rules(spec, out, mapping, lookups, p)
    return Prepared(pd.DataFrame(out), p, mapping, crs, n)


def _points(
    spec: Spec,
    frame: pd.DataFrame,
    source: Source,
    crs: str,
    options: Options,
    p: Problems,
    out: dict[str, pd.Series],
) -> None:
    if "lon" in frame and "lat" in frame:
        lon, lat = geom.check_points(
            frame["lon"], frame["lat"], crs, options.china_only, spec.geom_required, p
        )
    elif source.geometry is not None:
        lon, lat = geom.points_from_geometry(
            source.geometry, crs, options.china_only, spec.geom_required, p
        )
    else:
        lon, lat = geom.check_points(None, None, crs, False, spec.geom_required, p)
    out["lon"] = pd.Series(lon)
    out["lat"] = pd.Series(lat)


def _kind_rules(
    spec: Spec, out: dict[str, pd.Series], mapping: dict[str, str], lk: Lookups, p: Problems
) -> None:
    """Rules that span fields: time order, the organisation tree, panorama image sizes."""
    if spec.kind == "activities":
        s, e = out["starts_at"], out["ends_at"]
        both = (s.notna() & e.notna()).to_numpy()
        with np.errstate(invalid="ignore"):
            wrong = both & (e <= s).fillna(False).to_numpy(dtype=bool)
        p.error(wrong, "end_before_start", "ends_at is not after starts_at", mapping.get("ends_at"))
    if spec.kind == "organisations":
        depth = check_tree(
            out["code"], out["parent_code"], lk.org_parents, mapping.get("parent_code"), p
        )
        out["depth"] = pd.Series(depth)
    if spec.kind == "panoramas":
        out["width"], out["height"] = _image_sizes(out["image"], p)
    if spec.geom == "none":
        life.derive_keys(spec, out, mapping, p)
    if spec.kind == "roads":
        out["kind"] = out["kind"].fillna("street")
    if spec.kind == "districts":
        out["level"] = out["level"].fillna("district")


def _image_sizes(paths: pd.Series, p: Problems) -> tuple[pd.Series, pd.Series]:
    """Pixel sizes of panorama images (warning when not 2:1 equirectangular); images over the
    upload caps (decompression bombs included) are image_too_large."""
    from PIL import UnidentifiedImageError

    from geo.panoramas import MAX_WIDTH, TooLarge, open_image

    widths: list[float] = []
    heights: list[float] = []
    unreadable = np.zeros(len(paths), bool)
    too_large = np.zeros(len(paths), bool)
    for i, path in enumerate(paths.tolist()):
        w = h = np.nan
        if p.good[i] and isinstance(path, str):
            try:
                with open_image(path) as img:
                    w, h = img.size
                too_large[i] = w > MAX_WIDTH
            except TooLarge:
                too_large[i] = True
            except (OSError, UnidentifiedImageError):
                unreadable[i] = True
        widths.append(w)
        heights.append(h)
    p.error(unreadable, "bad_image", "image file is not a readable picture", "image", paths)
    p.error(
        too_large,
        "image_too_large",
        f"image is larger than {MAX_WIDTH}×{MAX_WIDTH // 2} pixels (or a decompression bomb)",
        "image",
    )
    ws, hs = pd.Series(widths), pd.Series(heights)
    ratio = (ws / hs).to_numpy()
    with np.errstate(invalid="ignore"):
        p.warn(np.abs(ratio - 2) > 0.01, "not_equirectangular", "image is not 2:1", "image", paths)
    return ws.round().astype("Int64"), hs.round().astype("Int64")


def staged_rows(spec: Spec, prepared: Prepared) -> pd.DataFrame:
    """The good rows only, roads split into LineStrings with suffixed codes."""
    good = prepared.frame[prepared.problems.good].reset_index(drop=True)
    if spec.kind != "roads" or good.empty:
        return good
    parts, codes, index = geom.split_lines(good["geom"].to_numpy(dtype=object), good["code"])
    split = good.iloc[index].reset_index(drop=True)
    split["geom"] = pd.Series(parts, dtype=object)
    split["code"] = codes
    return split[~shapely.is_empty(parts)].reset_index(drop=True)
