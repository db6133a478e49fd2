"""Panoramas: upload rules by content, metadata stripping, placement, image serving (ETag, Range)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Geod

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
SP_LON, SP_LAT = 116.40, 39.90
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" '
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" GPano:ProjectionType="equirectangular" '
    'GPano:PoseHeadingDegrees="{heading}" exif:GPSLatitude="{lat}" exif:GPSLongitude="{lon}"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def _pixels(w: int = 256, h: int = 128) -> Image.Image:
    rng = np.random.default_rng(5)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))


def _jpeg_with_metadata(lon: float, lat: float, heading: float = 45.0) -> bytes:
    """A 2:1 JPEG with GPS, orientation, camera/owner EXIF, a GPano XMP segment and a comment."""
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x013B] = "Secret Photographer"  # Artist
    exif[0x8825] = {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)}
    exif[0x8769] = {0x9003: "2026:04:01 10:00:00"}
    buf = io.BytesIO()
    _pixels().save(buf, "JPEG", quality=90, exif=exif.tobytes(), comment=b"private comment")
    data = buf.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + XMP.format(heading=heading, lat=0, lon=0).encode()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp + data[2:]


def _png_with_xmp(lon: str, lat: str, heading: float) -> bytes:
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.format(heading=heading, lat=lat, lon=lon))
    info.add_text("Author", "Secret Photographer")
    buf = io.BytesIO()
    _pixels().save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size in its IHDR (no pixel data needed to test the limits)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def env(clean_db: str, tmp_path: Path) -> dict[str, object]:
    with psycopg.connect(clean_db) as conn:
        sp = conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('sp1', '社区党群服务站', '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            (SP_LON, SP_LAT),
        ).fetchone()[0]
    return {"url": clean_db, "home": tmp_path, "sp": sp}


def _client(env: dict[str, object], principal: Principal) -> TestClient:
    settings = Settings(db=DatabaseSettings(database_url=env["url"], home=env["home"]))
    app = create_app(settings)
    app.dependency_overrides[get_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def steward(env) -> Iterator[TestClient]:
    with _client(env, Principal(role="steward", org_id=None, username="s")) as c:
        yield c


def _upload(c: TestClient, data: bytes, name: str = "pano.jpg", **fields: object):
    return c.post("/api/panoramas", files={"file": (name, data, "image/jpeg")}, data=fields)


def test_jpeg_placed_from_gps_linked_and_stripped(steward: TestClient, env) -> None:
    lon, lat, _ = GEOD.fwd(SP_LON, SP_LAT, 90, 60)  # 60 m east of the service point
    original = _jpeg_with_metadata(lon, lat)
    r = _upload(steward, original)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["lon"] == pytest.approx(lon, abs=1e-5) and meta["lat"] == pytest.approx(
        lat, abs=1e-5
    )
    assert meta["service_point"]["id"] == env["sp"]
    assert meta["heading"] == 45.0  # from GPano XMP
    assert meta["captured_at"].startswith("2026-04-01T10:00:00")
    assert (meta["width"], meta["height"]) == (256, 128)
    assert steward.get(f"/api/panoramas/{meta['id']}").json() == meta
    img = steward.get(meta["image"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    stored = img.content
    for secret in (
        b"Secret Photographer",
        b"CameraMaker",
        b"private comment",
        b"GPano",
        b"xap/1.0",
    ):
        assert secret not in stored
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert set(exif) == {0x0112, 0x8825}
    assert exif.get_ifd(0x8825)[1] == "N"
    # lossless: the pixels are exactly the uploaded ones
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(stored))), np.asarray(Image.open(io.BytesIO(original)))
    )


def test_png_placed_from_gpano_xmp_named_jpg(steward: TestClient, env) -> None:
    data = _png_with_xmp("116,24.0300E", "39,54.0000N", heading=270.5)
    r = _upload(steward, data, name="photo.jpg")  # the name lies; the content decides
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["lon"] == pytest.approx(116.4005) and meta["lat"] == pytest.approx(39.9)
    assert meta["heading"] == 270.5
    assert meta["service_point"]["id"] == env["sp"]  # 43 m away
    img = steward.get(meta["image"])
    assert img.headers["content-type"] == "image/png"
    assert b"Secret Photographer" not in img.content and b"GPano" not in img.content


def test_far_from_any_service_point_is_not_linked_and_form_wins(steward: TestClient, env) -> None:
    lon, lat, _ = GEOD.fwd(SP_LON, SP_LAT, 0, 150)
    r = _upload(
        steward, _jpeg_with_metadata(SP_LON, SP_LAT), lon=lon, lat=lat, heading=10, code="p-far"
    )
    assert r.status_code == 201, r.text
    assert (
        r.json()["service_point"] is None
        and r.json()["heading"] == 10
        and r.json()["code"] == "p-far"
    )
    again = _upload(steward, _jpeg_with_metadata(SP_LON, SP_LAT), lon=lon, lat=lat, code="p-far")
    assert again.status_code == 409


def test_given_service_point_places_an_image_without_gps(steward: TestClient, env) -> None:
    buf = io.BytesIO()
    _pixels().save(buf, "PNG")
    r = _upload(steward, buf.getvalue(), service_point_id=env["sp"])
    assert r.status_code == 201, r.text
    assert (r.json()["lon"], r.json()["lat"]) == pytest.approx((SP_LON, SP_LAT))
    buf2 = io.BytesIO()
    _pixels(512, 256).save(buf2, "PNG")
    no_place = _upload(steward, buf2.getvalue())
    assert no_place.status_code == 400 and "no location" in no_place.json()["description"]
    assert _upload(steward, buf2.getvalue(), service_point_id=999999).status_code == 400


def _gif() -> bytes:
    buf = io.BytesIO()
    _pixels().save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "word"),
    [
        (b"%PDF-1.4 this is not an image at all" * 50, 400, "not an image"),
        (_gif(), 400, "JPEG or PNG only"),
        (_png_header_only(9000, 4500), 413, "8192"),
        (_png_header_only(8192 + 2, 4097), 413, "8192"),
        (_png_header_only(1000, 600), 400, "2:1"),
        (_png_header_only(4096, 4096), 400, "2:1"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (30 * 1024 * 1024), 413, "30 MB"),
        (_png_header_only(200, 100)[:-30], 400, ""),  # truncated: damaged
    ],
)
def test_upload_rejections(steward: TestClient, env, data: bytes, status: int, word: str) -> None:
    r = _upload(steward, data, name="pano.jpg", lon=SP_LON, lat=SP_LAT)
    assert r.status_code == status, r.text
    assert word in r.json()["description"]
    assert (
        not list((env["home"] / "panoramas").glob("*"))
        if (env["home"] / "panoramas").exists()
        else True
    )


@pytest.mark.parametrize(
    "fields", [{"lon": 200, "lat": 39.9}, {"lon": 116.4}, {"heading": 400}, {"heading": "north"}]
)
def test_bad_fields_are_400(steward: TestClient, env, fields) -> None:
    assert _upload(steward, _jpeg_with_metadata(SP_LON, SP_LAT), **fields).status_code == 400


def test_only_stewards_and_admins_upload(env) -> None:
    data = _jpeg_with_metadata(SP_LON, SP_LAT)
    with _client(env, Principal()) as c:
        assert _upload(c, data).status_code == 401
    with _client(env, Principal(role="leader", org_id=1)) as c:
        assert _upload(c, data).status_code == 403
    with _client(env, Principal(role="admin")) as c:
        assert _upload(c, data).status_code == 201


def test_image_etag_range_and_cache(steward: TestClient, env) -> None:
    meta = _upload(steward, _jpeg_with_metadata(SP_LON, SP_LAT)).json()
    full = steward.get(meta["image"])
    size = len(full.content)
    assert "max-age=31536000" in full.headers["cache-control"]
    tag = full.headers["etag"]
    assert steward.get(meta["image"], headers={"If-None-Match": tag}).status_code == 304
    part = steward.get(meta["image"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == full.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = steward.get(meta["image"], headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == full.content[-50:]
    assert steward.get(meta["image"], headers={"Range": f"bytes={size + 10}-"}).status_code == 416


def test_unknown_panorama_is_404(steward: TestClient, env) -> None:
    assert steward.get("/api/panoramas/424242").status_code == 404
    assert steward.get("/api/panoramas/424242/image").status_code == 404
