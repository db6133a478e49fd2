"""Read an import file into text columns (+ geometries): CSV in any Chinese encoding, XLSX, GIS files.

Each format is read only by its own reader, after its content was checked against the declared
extension (`geo.ingest.content`): CSV by Arrow, XLSX by openpyxl, GeoJSON / GeoPackage / a
Shapefile (bare or the one in a zip, through `/vsizip/`) by pyogrio's GDAL with every other driver
and all network access switched off (`geo.ingest.gdal_guard`). Error messages never quote the
file's content: GDAL's and Arrow's own messages go to the log only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
from pyogrio.errors import DataSourceError

from geo.errors import ImportRejected
from geo.ingest import content, gdal_guard

log = logging.getLogger(__name__)
# Lock GDAL down as soon as the ingest core is imported (the app imports it at start); GIS reads
# check again and refuse to run when it could not be done.
with contextlib.suppress(gdal_guard.GdalNotHardened):
    gdal_guard.ensure_hardened()

GEO_EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp"}
DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile", "zip": "ESRI Shapefile"}
TABLE_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


@dataclass
class Source:
    """What a file holds: text columns, optional geometries and CRS, and how rows map to lines."""

    frame: pd.DataFrame
    geometry: npt.NDArray[np.object_] | None
    crs: str | None
    format: str
    encoding: str | None = None
    header_lines: int = 0  # lines before the first data row (CSV/XLSX: 1); 0 = features


def file_error(path: Path, message: str, code: str = "unreadable_file") -> ImportRejected:
    """A whole-file problem as an ImportRejected with a one-error report."""
    error = {"row": None, "line": None, "code": code, "message": message}
    return ImportRejected(f"{path.name}: {message}", {"errors": [error], "source": str(path)})


def detect_format(path: Path) -> str:
    """csv | xlsx | geojson | gpkg | shp | zip, from the extension, then from the content."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return "zip"
    if suffix in GEO_EXTENSIONS:
        return GEO_EXTENSIONS[suffix]
    if suffix in TABLE_EXTENSIONS:
        return TABLE_EXTENSIONS[suffix]
    head = path.read_bytes()[:16]
    if head.startswith(b"PK"):
        return "xlsx" if _is_xlsx(path) else "zip"
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if head.lstrip().startswith(b"{"):
        return "geojson"
    return "csv"


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.startswith("xl/") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_csv(path: Path, data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line = _line_of(data, exc.start + 3)
            raise file_error(
                path,
                f"starts with a UTF-8 BOM but is not valid UTF-8 (line {line}, byte "
                f"0x{data[exc.start + 3]:02x})",
                "bad_encoding",
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_exc:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as gb_exc:
            u_line = _line_of(data, utf8_exc.start)
            g_line = _line_of(data, gb_exc.start)
            raise file_error(
                path,
                f"cannot decode the file: not UTF-8 (line {u_line}, byte "
                f"0x{data[utf8_exc.start]:02x}) and not GBK/GB18030 (line {g_line}); "
                "save it as UTF-8 CSV",
                "bad_encoding",
            ) from gb_exc


def read_csv(path: Path) -> Source:
    """A CSV (comma, tab or semicolon separated) as Arrow-backed text columns."""
    data = path.read_bytes()
    content.check_text(path, data)
    text, encoding = decode_csv(path, data)
    nul = text.find("\x00")
    if nul >= 0:  # PostgreSQL text cannot hold it; usually a UTF-16 file or a binary file
        line = text.count("\n", 0, nul) + 1
        raise file_error(path, f"NUL character on line {line} (UTF-16 or binary file?)", "bad_text")
    if encoding == "utf-8-sig":
        data = data[3:]
    elif encoding != "utf-8":
        data = text.encode("utf-8")
    first = text.split("\n", 1)[0].rstrip("\r")
    sep = max((",", "\t", ";"), key=first.count)
    names = next(csv.reader([first], delimiter=sep)) if first else []
    if not names:
        raise file_error(path, "the file is empty (no header line)")
    ragged: list[tuple[int, int, str]] = []

    def on_ragged(row: pacsv.InvalidRow) -> str:
        ragged.append((row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, newlines_in_values=True, invalid_row_handler=on_ragged
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        log.info("CSV %s unreadable: %s", path.name, exc)
        raise file_error(path, "not a readable CSV (check separators and quotes)") from exc
    if ragged:
        raise _ragged_error(path, text, ragged)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", np.nan)}.get)
    return Source(frame, None, None, "csv", encoding, header_lines=1)


def _ragged_error(path: Path, text: str, ragged: list[tuple[int, int, str]]) -> ImportRejected:
    """Rows with the wrong number of fields, named by line (found by their text)."""
    parts = []
    for expected, actual, row_text in ragged[:10]:
        at = text.find(row_text)
        line = text.count("\n", 0, at) + 1 if at >= 0 else "?"
        parts.append(f"line {line} has {actual} fields, not {expected}")
    more = f" (and {len(ragged) - 10} more)" if len(ragged) > 10 else ""
    return file_error(
        path, "; ".join(parts) + more + "; check separators and quotes", "bad_row_shape"
    )


def read_xlsx(path: Path) -> Source:
    """The first sheet of an XLSX workbook as text columns (openpyxl)."""
    content.check_xlsx(path)
    try:
        frame = pd.read_excel(path, dtype=str, engine="openpyxl", keep_default_na=False)
    except (ValueError, zipfile.BadZipFile, KeyError, OSError) as exc:
        log.info("XLSX %s unreadable: %s", path.name, exc)
        raise file_error(path, "not a readable XLSX workbook") from exc
    frame = frame.replace("", np.nan)
    return Source(frame, None, None, "xlsx", None, header_lines=1)


def _target(path: Path, fmt: str) -> str:
    """What GDAL opens, after the content check of the declared format."""
    if fmt == "zip":
        return f"/vsizip/{path}/{content.zipped_shapefile(path)}"
    {"geojson": content.check_geojson, "gpkg": content.check_gpkg, "shp": content.check_shp}[fmt](
        path
    )
    return str(path)


def read_geo(path: Path, fmt: str) -> Source:
    """A GIS file (GeoJSON, GeoPackage, Shapefile, zipped Shapefile) via pyogrio."""
    target = _target(path, fmt)
    try:
        gdal_guard.ensure_hardened()
    except gdal_guard.GdalNotHardened as exc:
        log.error("GIS imports refused: %s", exc)
        raise file_error(
            path, "GIS files cannot be imported on this server", "gis_disabled"
        ) from exc
    try:
        frame = _read_dataframe(path, target, DRIVERS[fmt])
    except (DataSourceError, RuntimeError, ValueError) as exc:
        log.info("GIS file %s unreadable: %s", path.name, exc)
        raise file_error(path, f"not a readable {fmt} file") from exc
    crs = frame.crs.to_string() if frame.crs is not None else None
    geometry = np.asarray(frame.geometry.values, dtype=object)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for col in table.columns:
        table[col] = _as_text(table[col])
    return Source(table, geometry, crs, "shp" if fmt == "zip" else fmt, None, header_lines=0)


def _read_dataframe(path: Path, target: str, driver: str) -> gpd.GeoDataFrame:
    """pyogrio's reader, only when GDAL opens the file with `driver`; a Shapefile without a .cpg
    is tried as UTF-8, then GBK/GB18030."""
    info = pyogrio.read_info(target)
    if info.get("driver") != driver:
        raise content.mismatch(path, f"the content is not a {driver} file")
    declared = info.get("encoding")
    if driver != "ESRI Shapefile" or declared not in (None, "ISO-8859-1"):
        return pyogrio.read_dataframe(target)
    try:
        return pyogrio.read_dataframe(target, encoding="utf-8")
    except UnicodeDecodeError:
        return pyogrio.read_dataframe(target, encoding="gb18030")


def _as_text(col: pd.Series) -> pd.Series:
    """A column as strings (missing stays missing); dates in ISO form."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%z").where(col.notna())
    missing = col.isna().to_numpy()
    out = col.astype(object).map(lambda v: v if isinstance(v, str) else _num_text(v))
    out[missing] = None
    return out


def _num_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_source(path: Path) -> Source:
    """Read any supported file; ImportRejected for unreadable ones."""
    if not path.exists():
        raise file_error(path, "file not found", "file_not_found")
    fmt = detect_format(path)
    if fmt == "csv":
        source = read_csv(path)
    elif fmt == "xlsx":
        source = read_xlsx(path)
    else:
        source = read_geo(path, fmt)
    source.frame.columns = [str(c).strip() for c in source.frame.columns]
    return source
