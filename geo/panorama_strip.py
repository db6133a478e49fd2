"""Panorama metadata stripping: keep orientation and GPS, drop every other JPEG segment / PNG chunk."""

from __future__ import annotations

import struct
import zlib

from PIL import Image

from geo.errors import InvalidInput

ORIENTATION, GPS_IFD = 0x0112, 0x8825


def kept_exif(exif: Image.Exif) -> bytes | None:
    """TIFF bytes (with the 'Exif\\0\\0' header) holding only orientation and GPS; None if neither."""
    kept = Image.Exif()
    if ORIENTATION in exif:
        kept[ORIENTATION] = exif[ORIENTATION]
    gps = exif.get_ifd(GPS_IFD)
    if gps:
        kept[GPS_IFD] = dict(gps)
    return kept.tobytes() if len(kept) else None


# JPEG segments kept as they are: JFIF (APP0), ICC profile (APP2), Adobe colour transform (APP14).
_KEEP_APP = {0xE0, 0xE2, 0xEE}


def strip_jpeg(data: bytes, exif: bytes | None) -> bytes:
    """The JPEG with every APP1/APP13/COM/other APPn segment removed and `exif` put back (lossless)."""
    out = bytearray(data[:2])
    pos = 2
    inserted = False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise InvalidInput("the JPEG structure is damaged")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan: the rest is image data
            if exif and not inserted:
                out += _app1(exif)
            out += data[pos:]
            return bytes(out)
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        is_app = 0xE0 <= marker <= 0xEF
        if marker != 0xE0 and exif and not inserted:
            out += _app1(exif)
            inserted = True
        if (not is_app and marker != 0xFE) or marker in _KEEP_APP:
            out += segment
        pos += 2 + length
    raise InvalidInput("the JPEG has no image data")


def _app1(exif: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif


_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def strip_png(data: bytes, exif: bytes | None) -> bytes:
    """The PNG without text/XMP/EXIF chunks, with `exif` (orientation + GPS) as an eXIf chunk."""
    out = bytearray(data[:8])
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if ctype == b"IDAT" and exif:
            payload = exif[6:]  # eXIf holds the TIFF data without the 'Exif\0\0' header
            out += struct.pack(">I", len(payload)) + b"eXIf" + payload
            out += struct.pack(">I", zlib.crc32(b"eXIf" + payload))
            exif = None
        if ctype not in _PNG_DROP:
            out += chunk
        pos += 12 + length
        if ctype == b"IEND":
            return bytes(out)
    raise InvalidInput("the PNG structure is damaged")
