"""360° panoramas: check an upload by content, strip its metadata, place it, store it, serve it."""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from PIL import Image, UnidentifiedImageError

from geo.errors import Conflict, DjmapError, InvalidInput, NotFound
from geo.panorama_strip import kept_exif, strip_jpeg, strip_png

MAX_BYTES = 30 * 1024 * 1024
MAX_WIDTH = 8192
MAX_PIXELS = MAX_WIDTH * (MAX_WIDTH // 2)  # the largest 2:1 panorama we take: 8192 × 4096
# Pillow's decompression-bomb guard at our own cap (its default is ~89 Mpx): it warns above
# MAX_PIXELS and raises above twice that; every caller here also checks MAX_PIXELS itself.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
LINK_RADIUS_M = 100.0
ASPECT_TOLERANCE = 0.01
ORIENTATION, GPS_IFD, EXIF_IFD, DATETIME_ORIGINAL = 0x0112, 0x8825, 0x8769, 0x9003


class TooLarge(DjmapError):
    """The upload is over the size limits (HTTP 413)."""

    code = "PayloadTooLarge"


@dataclass(frozen=True)
class CheckedImage:
    """An accepted panorama: cleaned bytes and what its metadata said."""

    data: bytes
    format: str
    width: int
    height: int
    lon: float | None
    lat: float | None
    heading: float | None
    captured_at: datetime | None

    @property
    def suffix(self) -> str:
        """File suffix by format."""
        return ".jpg" if self.format == "JPEG" else ".png"

    @property
    def sha256(self) -> str:
        """Content hash of the stored bytes (also the strong ETag)."""
        return hashlib.sha256(self.data).hexdigest()


def _bomb(size: tuple[int, int] | None = None) -> TooLarge:
    told = f"{size[0]}×{size[1]} pixels; " if size else ""
    return TooLarge(
        f"the image is too large to decode ({told}at most {MAX_WIDTH}×{MAX_WIDTH // 2} pixels)"
    )


def open_image(source: str | Path | io.BytesIO) -> Image.Image:
    """Pillow's lazy open (header only); TooLarge for a decompression bomb."""
    try:
        img = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise _bomb() from exc
    w, h = img.size
    if w * h > MAX_PIXELS:
        img.close()
        raise _bomb((w, h))
    return img


def _open(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise TooLarge(f"the file is {len(data) / 2**20:.1f} MB; at most 30 MB")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _bomb() from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput("not an image: the content is neither JPEG nor PNG") from exc
    if img.format not in ("JPEG", "PNG"):
        raise InvalidInput(f"{img.format} images are not accepted: JPEG or PNG only")
    return img


def _check_size(img: Image.Image) -> None:
    w, h = img.size
    if w > MAX_WIDTH:
        raise TooLarge(f"the image is {w} px wide; at most {MAX_WIDTH} px")
    if w * h > MAX_PIXELS:
        raise _bomb((w, h))
    if h == 0 or abs(w / h - 2) > 2 * ASPECT_TOLERANCE:
        raise InvalidInput(f"a panorama must be 2:1 (equirectangular); this one is {w}×{h}")


def _decode_fully(img: Image.Image) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise _bomb(img.size) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"the image data is damaged: {exc}") from exc


def _dms(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    return -deg if str(ref).upper().startswith(negative) else deg


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    if not gps:
        return None, None
    lat = _dms(gps.get(2), gps.get(1, "N"), "S")
    lon = _dms(gps.get(4), gps.get(3, "E"), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lon, lat


_XMP_ATTR = r'{name}\s*=\s*"([^"]*)"|<{name}>([^<]*)</{name}>'


def _xmp_value(data: bytes, name: str) -> str | None:
    m = re.search(_XMP_ATTR.format(name=re.escape(name)).encode(), data)
    if not m:
        return None
    return (m.group(1) or m.group(2) or b"").decode("utf-8", "replace").strip()


def _xmp_coord(text: str | None) -> float | None:
    """XMP GPS coordinate: 'DDD,MM.mmk', 'DDD,MM,SSk' or a decimal number."""
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])", text)
    if m:
        deg = float(m[1]) + float(m[2]) / 60 + float(m[3] or 0) / 3600
        return -deg if m[4] in "SW" else deg
    try:
        return float(text)
    except ValueError:
        return None


def _xmp_place(data: bytes) -> tuple[float | None, float | None, float | None]:
    """(lon, lat, heading) from GPano / exif XMP properties, when present."""
    lat = _xmp_coord(_xmp_value(data, "exif:GPSLatitude"))
    lon = _xmp_coord(_xmp_value(data, "exif:GPSLongitude"))
    heading_text = _xmp_value(data, "GPano:PoseHeadingDegrees")
    try:
        heading = float(heading_text) % 360 if heading_text else None
    except ValueError:
        heading = None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return lon, lat, heading


def _captured_at(exif: Image.Exif) -> datetime | None:
    text = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL)
    try:
        return (
            datetime.strptime(str(text), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC) if text else None
        )
    except ValueError:
        return None


def check_image(data: bytes) -> CheckedImage:
    """Accept a JPEG/PNG 2:1 panorama by its content; strip metadata but orientation and GPS."""
    img = _open(data)
    _check_size(img)
    _decode_fully(img)
    exif = img.getexif()
    lon, lat = _gps(exif)
    xlon, xlat, heading = _xmp_place(data)
    if lon is None:
        lon, lat = xlon, xlat
    keep = kept_exif(exif)
    cleaned = strip_jpeg(data, keep) if img.format == "JPEG" else strip_png(data, keep)
    w, h = img.size
    return CheckedImage(cleaned, str(img.format), w, h, lon, lat, heading, _captured_at(exif))


def store(image: CheckedImage, folder: Path) -> str:
    """Write the image under folder by content hash; return the stored file name."""
    folder.mkdir(parents=True, exist_ok=True)
    name = image.sha256 + image.suffix
    target = folder / name
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(image.data)
        tmp.replace(target)
    return name


def resolve_path(image_path: str, folder: Path) -> Path:
    """Absolute path of a stored image (relative paths are under the panoramas folder)."""
    p = Path(image_path)
    return p if p.is_absolute() else folder / p


@dataclass(frozen=True)
class UploadFields:
    """Form fields of an upload besides the file (all optional)."""

    code: str | None = None
    title: str | None = None
    heading: float | None = None
    service_point_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    captured_at: datetime | None = None


_NEAREST_SP_SQL = """
SELECT id FROM service_points
WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3)
ORDER BY ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography), id
LIMIT 1
"""
_INSERT_SQL = """
INSERT INTO panoramas (code, title, image_path, width, height, heading, service_point_id, captured_at, geom)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ST_SetSRID(ST_MakePoint($9, $10), 4326))
ON CONFLICT (code) DO NOTHING
RETURNING id
"""
META_SQL = """
SELECT p.id, p.code, p.title, p.image_path, p.width, p.height, p.heading, p.captured_at,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
       s.id AS sp_id, s.name AS sp_name, s.kind AS sp_kind, ST_X(s.geom) AS sp_lon, ST_Y(s.geom) AS sp_lat
FROM panoramas p LEFT JOIN service_points s ON s.id = p.service_point_id
WHERE p.id = $1
"""


def _check_fields(f: UploadFields) -> None:
    if (f.lon is None) != (f.lat is None):
        raise InvalidInput("give both lon and lat, or neither")
    if (
        f.lon is not None
        and f.lat is not None
        and not (-180 <= f.lon <= 180 and -90 <= f.lat <= 90)
    ):
        raise InvalidInput("lon must be within ±180 and lat within ±90")
    if f.heading is not None and not (math.isfinite(f.heading) and 0 <= f.heading < 360):
        raise InvalidInput("heading must be in [0, 360)")


async def _place(
    conn: asyncpg.Connection, f: UploadFields, img: CheckedImage
) -> tuple[float, float, int | None]:
    lon, lat = (f.lon, f.lat) if f.lon is not None else (img.lon, img.lat)
    sp_id = f.service_point_id
    if sp_id is not None:
        row = await conn.fetchrow(
            "SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM service_points WHERE id = $1", sp_id
        )
        if row is None:
            raise InvalidInput(f"service point {sp_id} does not exist")
        if lon is None:
            lon, lat = row["x"], row["y"]
    if lon is None or lat is None:
        raise InvalidInput(
            "no location: the image has no GPS EXIF or GPano XMP position; give lon/lat or a service_point_id"
        )
    if sp_id is None:
        sp_id = await conn.fetchval(_NEAREST_SP_SQL, lon, lat, LINK_RADIUS_M)
    return lon, lat, sp_id


async def create(
    conn: asyncpg.Connection, img: CheckedImage, f: UploadFields, folder: Path
) -> dict[str, Any]:
    """Place, store and record a checked panorama; return its metadata."""
    _check_fields(f)
    lon, lat, sp_id = await _place(conn, f, img)
    heading = f.heading if f.heading is not None else (img.heading or 0.0)
    code = f.code or f"pano-{img.sha256[:16]}"
    name = store(img, folder)
    pid = await conn.fetchval(
        _INSERT_SQL, code, f.title, name, img.width, img.height, heading % 360, sp_id,
        f.captured_at or img.captured_at, lon, lat,
    )  # fmt: skip
    if pid is None:
        raise Conflict(f"a panorama with code {code!r} already exists")
    return await metadata(conn, pid)


async def metadata(conn: asyncpg.Connection, panorama_id: int) -> dict[str, Any]:
    """A panorama's metadata with its service point and heading."""
    r = await conn.fetchrow(META_SQL, panorama_id)
    if r is None:
        raise NotFound(f"panorama {panorama_id} does not exist")
    sp = None
    if r["sp_id"] is not None:
        sp = {
            "id": r["sp_id"],
            "name": r["sp_name"],
            "kind": r["sp_kind"],
            "lon": r["sp_lon"],
            "lat": r["sp_lat"],
        }
    return {
        "id": r["id"],
        "code": r["code"],
        "title": r["title"],
        "width": r["width"],
        "height": r["height"],
        "heading": r["heading"],
        "captured_at": r["captured_at"].isoformat() if r["captured_at"] else None,
        "lon": r["lon"],
        "lat": r["lat"],
        "image": f"/api/panoramas/{r['id']}/image",
        "service_point": sp,
    }


async def image_path(conn: asyncpg.Connection, panorama_id: int, folder: Path) -> Path:
    """The file of a panorama's image (404 when the row or the file is missing)."""
    stored = await conn.fetchval("SELECT image_path FROM panoramas WHERE id = $1", panorama_id)
    if stored is None:
        raise NotFound(f"panorama {panorama_id} does not exist")
    path = resolve_path(stored, folder)
    if not path.is_file():
        raise NotFound(f"the image of panorama {panorama_id} is missing")
    return path


def etag(path: Path) -> str:
    """Strong ETag: the content hash when the name is one, else size and mtime."""
    if re.fullmatch(r"[0-9a-f]{64}", path.stem):
        return f'"{path.stem}"'
    st = path.stat()
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
