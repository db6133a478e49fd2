"""Does an upload's content match its declared format? Checked before any reader touches it.

Each format is known by its magic bytes or a cheap parse: a refusal is `ContentMismatch` (HTTP 400,
code `content_mismatch`) and its message never quotes the file's content.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import zipfile
from pathlib import Path, PurePosixPath

from geo.errors import InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
SHP_MAGIC = b"\x00\x00\x27\x0a"
# Magic numbers of binary formats that are never a CSV (zip/xlsx, SQLite, PDF, images, gzip, 7z …)
BINARY_MAGIC = (
    b"PK\x03\x04", SQLITE_MAGIC, b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b",
    b"7z\xbc\xaf", b"Rar!", b"\xd0\xcf\x11\xe0", b"BZh", b"\xfd7zXZ", SHP_MAGIC,
)  # fmt: skip
TEXT_SAMPLE = 64 * 1024
MAX_CONTROL_SHARE = 0.01  # more C0 control characters than this in the sample: a binary file
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # a zip (or XLSX) may unpack to at most this
MAX_ZIP_ENTRIES = 200
# what GDAL may read next to a .shp, and metadata files that travel with it (never opened)
SHAPEFILE_PARTS = {
    ".shp",
    ".shx",
    ".dbf",
    ".prj",
    ".cpg",
    ".qix",
    ".sbn",
    ".sbx",
    ".xml",
    ".txt",
    ".qmd",
}
SAFE_CRS = re.compile(
    r"(?:urn:ogc:def:crs:(?:EPSG|OGC|CRS)::?(?:[0-9.]+:)?[A-Za-z]*[0-9]+"
    r"|EPSG:[0-9]{1,6}|OGC:CRS[0-9]{2}|CRS:[0-9]{2})",
    re.IGNORECASE,
)
_CRS_MEMBER = re.compile(r'"crs"\s*:')
_GEOJSON_TYPE = re.compile(rb'"type"\s*:\s*"(?:FeatureCollection|Feature)"')


class ContentMismatch(InvalidInput):
    """The file's content is not what its extension declares (HTTP 400)."""

    code = "content_mismatch"


def mismatch(path: Path, message: str) -> ContentMismatch:
    """A refusal naming only the (already sanitised) file name."""
    return ContentMismatch(f"{path.name}: {message}")


def check_text(path: Path, data: bytes) -> None:
    """A CSV must be text: no binary magic number, hardly any control characters."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise mismatch(path, "the file is UTF-16 text: save it as UTF-8 (or GBK) CSV")
    if data.startswith(BINARY_MAGIC):
        raise mismatch(path, "the file is binary, not a CSV text file")
    sample = data[:TEXT_SAMPLE]
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 26))
    if sample and controls / len(sample) > MAX_CONTROL_SHARE:
        raise mismatch(path, "the file is binary, not a CSV text file")


def check_geojson(path: Path) -> None:
    """A GeoJSON object in UTF-8 whose every `crs` member is a plain named CRS (never a link)."""
    data = path.read_bytes()
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.lstrip()[:1] == b"{" or not _GEOJSON_TYPE.search(body):
        raise mismatch(path, "the content is not GeoJSON (a JSON FeatureCollection or Feature)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise mismatch(path, "GeoJSON must be UTF-8") from None
    decoder = json.JSONDecoder()
    for match in _CRS_MEMBER.finditer(text):
        start = match.end()
        while start < len(text) and text[start] in " \t\r\n":
            start += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            raise mismatch(path, "the content is not valid JSON") from None
        if isinstance(value, dict) and not _named_crs(value):
            raise mismatch(
                path,
                'a GeoJSON "crs" must be {"type": "name", "properties": {"name": "EPSG:…"}}; '
                "linked or other CRS definitions are not read",
            )


def _named_crs(value: dict[str, object]) -> bool:
    props = value.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    return (
        value.get("type") == "name"
        and isinstance(name, str)
        and SAFE_CRS.fullmatch(name) is not None
    )


def check_gpkg(path: Path) -> None:
    """SQLite magic, a GeoPackage application id, and no virtual tables but R-tree indexes."""
    with path.open("rb") as fh:
        head = fh.read(100)
    if not head.startswith(SQLITE_MAGIC) or head[68:72] not in GPKG_APPLICATION_IDS:
        raise mismatch(path, "the content is not a GeoPackage (SQLite with a GPKG id)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            conn.execute("PRAGMA trusted_schema = OFF")
            rows = conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql LIKE '%VIRTUAL%TABLE%'"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise mismatch(path, "the GeoPackage's database cannot be read") from None
    if any(not re.search(r"USING\s+rtree\s*\(", str(r[0]), re.IGNORECASE) for r in rows):
        raise mismatch(path, "the GeoPackage holds virtual tables other than spatial indexes")


def check_shp(path: Path) -> None:
    """A Shapefile's main file starts with the file code 9994."""
    with path.open("rb") as fh:
        if fh.read(4) != SHP_MAGIC:
            raise mismatch(path, "the .shp file is not a Shapefile")


def _bad_member(info: zipfile.ZipInfo) -> bool:
    """Absolute, drive-lettered, backslashed, parent-walking, nested-archive or symlink names."""
    name = info.filename
    parts = PurePosixPath(name).parts
    if name.startswith("/") or "\\" in name or ":" in name or ".." in parts:
        return True
    if any(ord(c) < 32 for c in name) or re.search(r"\.(zip|gz|tar|7z|rar)(/|$)", name, re.I):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def check_zip(path: Path, *, xlsx: bool = False) -> list[zipfile.ZipInfo]:
    """The members of a sane zip: no traversal, links or nesting, bounded count and size."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise mismatch(path, "the content is not a zip archive") from None
    what = "workbook" if xlsx else "zip"
    if len(infos) > (10 * MAX_ZIP_ENTRIES if xlsx else MAX_ZIP_ENTRIES):
        raise mismatch(path, f"the {what} holds too many files")
    if any(_bad_member(i) for i in infos):
        raise mismatch(
            path, f"the {what} holds absolute, '..', linked or nested-archive member names"
        )
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise mismatch(path, f"the {what} unpacks to more than {MAX_UNZIPPED_BYTES >> 20} MB")
    return infos


def zipped_shapefile(path: Path) -> str:
    """The one .shp inside a zip (checked by its magic); refuses anything else in the zip."""
    infos = [
        i for i in check_zip(path) if not i.is_dir() and not i.filename.startswith("__MACOSX/")
    ]
    shps = [i for i in infos if i.filename.lower().endswith(".shp")]
    if len(shps) != 1:
        raise mismatch(path, f"a zip must hold exactly one Shapefile (.shp); it holds {len(shps)}")
    others = [i for i in infos if PurePosixPath(i.filename).suffix.lower() not in SHAPEFILE_PARTS]
    if others:
        raise mismatch(
            path,
            "a zip may hold one Shapefile and its parts only "
            f"({', '.join(sorted(SHAPEFILE_PARTS))})",
        )
    with zipfile.ZipFile(path) as zf, zf.open(shps[0]) as fh:
        if fh.read(4) != SHP_MAGIC:
            raise mismatch(path, "the .shp file in the zip is not a Shapefile")
    return shps[0].filename


def check_xlsx(path: Path) -> None:
    """An Office Open XML workbook: a sane zip with [Content_Types].xml and xl/workbook.xml."""
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise mismatch(path, "the content is not an XLSX workbook")
    names = {i.filename for i in check_zip(path, xlsx=True)}
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise mismatch(path, "the content is not an XLSX workbook")
