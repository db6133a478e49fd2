"""Attacks on imports (issue 9 §2, §6): uploads that make GDAL read another file or open a
connection, formats that lie about their content, imports outside the caller's subtree, image
bombs and panorama paths that leave the import's folder. Each one worked (or was a 500) before.

A real TCP listener on 127.0.0.1 stands for any server the attacker points GDAL at; a sentinel
file outside the upload stands for `$DJMAP_HOME/secret_key`.
"""

from __future__ import annotations

import io
import json
import random
import secrets
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from privacy import add_users, bearer, two_subtrees
from shapely.geometry import Point

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.errors import ImportRejected
from geo.ingest import import_file
from geo.settings import DatabaseSettings

KEY = "import-attacks-key-" + "z" * 32
ORG = {"code": "G-1", "name": "新党委", "type": "党委"}


class Listener:
    """A TCP server that answers any request with a small CSV and counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.hits += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    body = b"code,name,type\nL-1,from-listener,x\n"
                    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                    conn.sendall(head.encode() + body)
                except OSError:
                    pass

    def contacted(self) -> int:
        """Connections made so far: stop serving, then count what waits in the backlog too."""
        self._stop.set()
        self._thread.join()
        self.sock.setblocking(False)
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                break
            self.hits += 1
            conn.close()
        self.sock.close()
        return self.hits


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    if not server._stop.is_set():
        server.contacted()


@pytest.fixture
def sentinel(tmp_path: Path) -> tuple[Path, str]:
    """A CSV outside any upload whose content must never come back (like secret_key)."""
    token = "sentinel" + secrets.token_hex(12)
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "sentinel.csv"
    path.write_text(f"{token}_a,{token}_b\n{token}_c,{token}_d\n")
    return path, token


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    settings = Settings(
        db=DatabaseSettings(database_url=clean_db),
        api=ApiSettings(secret_key=KEY, max_upload_mb=5),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def upload(
    client: TestClient,
    name: str,
    body: bytes,
    kind: str = "organisations",
    user: str = "admin",
    **form: str,
) -> Any:
    headers = bearer(client, user)
    data = {"kind": kind, **form}
    return client.post("/api/imports", files={"file": (name, body)}, data=data, headers=headers)


def table(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return sorted(conn.execute(sql).fetchall(), key=repr)


def vrt(source: str, layer: str) -> bytes:
    """OGR VRT XML that makes GDAL open `source` (a file or a URL) as a point layer: before the
    fix, its first line came back as the column names of a missing_column message."""
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="{layer}"><SrcDataSource>{source}</SrcDataSource>'
        f"<SrcLayer>{layer}</SrcLayer><GeometryType>wkbPoint</GeometryType>"
        "<LayerSRS>EPSG:4326</LayerSRS></OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def geojson(crs: dict[str, Any] | None = None, props: dict[str, Any] = ORG) -> bytes:
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
            }
        ],
    }
    if crs is not None:
        doc["crs"] = crs
    return json.dumps(doc, ensure_ascii=False).encode()


def refused(r: Any, token: str | None = None) -> None:
    """400 content_mismatch, and nothing of the sentinel in the answer."""
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "content_mismatch", r.text
    if token:
        assert token not in r.text


# --- other files and URLs through GDAL ---------------------------------------------------------


@pytest.mark.parametrize("name", ["x.json", "x.geojson", "x.gpkg"])
@pytest.mark.parametrize("target", ["file", "url"])
def test_vrt_upload_reads_no_other_file_and_opens_no_connection(
    client: TestClient, clean_db: str, sentinel, listener: Listener, name: str, target: str
) -> None:
    path, token = sentinel
    url = f"/vsicurl/http://127.0.0.1:{listener.port}/sentinel.csv"
    body = vrt(str(path) if target == "file" else url, "sentinel")
    r = upload(client, name, body)
    refused(r, token)
    assert "from-listener" not in r.text
    assert listener.contacted() == 0
    assert table(clean_db, "SELECT code FROM organisations WHERE code LIKE 'L-%'") == []


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "link", "properties": {"href": "http://127.0.0.1:{port}/crs", "type": "proj4"}},
        {"type": "url", "properties": {"url": "http://127.0.0.1:{port}/crs"}},
        {"type": "name", "properties": {"name": "/vsicurl/http://127.0.0.1:{port}/crs"}},
        {"type": "name", "properties": {"name": "{sentinel}"}},
    ],
    ids=["link", "url", "vsicurl-name", "file-name"],
)
def test_geojson_naming_a_url_or_file_is_refused_unopened(
    client: TestClient, clean_db: str, sentinel, listener: Listener, crs: dict[str, Any]
) -> None:
    path, token = sentinel
    text = json.dumps(crs).replace("{port}", str(listener.port)).replace("{sentinel}", str(path))
    r = upload(client, "x.geojson", geojson(json.loads(text)))
    refused(r, token)
    assert listener.contacted() == 0
    assert table(clean_db, "SELECT code FROM organisations WHERE code = 'G-1'") == []


def test_gdal_itself_has_three_drivers_and_no_network(tmp_path: Path, listener: Listener) -> None:
    """Behind the content checks: pyogrio's GDAL cannot follow a VRT, a URL or a link CRS."""
    import pyogrio
    from pyogrio.errors import DataSourceError

    from geo.ingest import gdal_guard

    gdal_guard.ensure_hardened()
    assert set(pyogrio.list_drivers()) == {"GeoJSON", "GPKG", "ESRI Shapefile"}
    base = f"http://127.0.0.1:{listener.port}"
    for remote in (f"/vsicurl/{base}/a.geojson", f"/vsis3_streaming/{base}/a.geojson"):
        with pytest.raises(DataSourceError):
            pyogrio.read_info(remote)
    linked = tmp_path / "linked.geojson"
    linked.write_bytes(geojson({"type": "link", "properties": {"href": f"{base}/crs"}}))
    assert len(pyogrio.read_dataframe(linked)) == 1  # read, but its CRS link is not fetched
    xml = tmp_path / "x.vrt"
    xml.write_bytes(vrt(f"/vsicurl/{base}/a.csv", "a"))
    with pytest.raises(DataSourceError):
        pyogrio.read_info(xml)
    assert listener.contacted() == 0


# --- zips ---------------------------------------------------------------------------------------


def shapefile_parts(tmp_path: Path, name: str = "orgs") -> dict[str, bytes]:
    """A real point Shapefile of one organisation, as {file name: bytes}."""
    folder = tmp_path / f"shp-{name}"
    folder.mkdir()
    frame = gpd.GeoDataFrame([ORG], geometry=[Point(116.4, 39.9)], crs=4326)
    frame.to_file(folder / f"{name}.shp", encoding="utf-8")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def make_zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16) | 0x20  # a symlink member
            zf.writestr(info, target)
    return buf.getvalue()


def _declared_huge(parts: dict[str, bytes]) -> bytes:
    """A zip whose central directory claims 600 MB for the .dbf (a zip bomb's signature)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        for info in zf.filelist:
            if info.filename.endswith(".dbf"):
                info.file_size = 600 * 1024 * 1024
    return buf.getvalue()


ZIP_TRICKS: dict[str, Callable[[dict[str, bytes], Path], bytes]] = {
    "parent-walk": lambda p, s: make_zip({f"../{n}": b for n, b in p.items()}),
    "absolute": lambda p, s: make_zip({f"/tmp/{n}": b for n, b in p.items()}),
    "two-shapefiles": lambda p, s: make_zip(
        {**p, **{n.replace("orgs", "more"): b for n, b in p.items()}}
    ),
    "vrt-named-shp": lambda p, s: make_zip({"orgs.shp": vrt(str(s), "sentinel")}),
    "vrt-beside-shp": lambda p, s: make_zip({**p, "orgs.vrt": vrt(str(s), "sentinel")}),
    "vrt-only": lambda p, s: make_zip({"orgs.vrt": vrt(str(s), "sentinel")}),
    "vrt-named-json": lambda p, s: make_zip({"orgs.json": vrt(str(s), "sentinel")}),
    "nested-zip": lambda p, s: make_zip({"inner.zip/orgs.shp": p["orgs.shp"]}),
    "symlinked-shp": lambda p, s: make_zip(
        {k: v for k, v in p.items() if k != "orgs.dbf"}, {"orgs.dbf": str(s)}
    ),
    "declared-600-MB": lambda p, s: _declared_huge(p),
}


@pytest.mark.parametrize("trick", list(ZIP_TRICKS))
def test_zip_tricks_are_refused(
    client: TestClient, clean_db: str, tmp_path: Path, sentinel, trick: str
) -> None:
    path, token = sentinel
    body = ZIP_TRICKS[trick](shapefile_parts(tmp_path), path)
    r = upload(client, "orgs.zip", body)
    refused(r, token)
    assert table(clean_db, "SELECT code FROM organisations WHERE code = 'G-1'") == []


def test_a_plain_zipped_shapefile_still_imports(client: TestClient, tmp_path: Path) -> None:
    r = upload(client, "orgs.zip", make_zip(shapefile_parts(tmp_path)))
    assert r.status_code == 201, r.text
    assert r.json()["rows_written"] == 1


# --- declared format against content ------------------------------------------------------------


def _gpkg(tmp_path: Path) -> bytes:
    path = tmp_path / "real.gpkg"
    gpd.GeoDataFrame([ORG], geometry=[Point(116.4, 39.9)], crs=4326).to_file(path, driver="GPKG")
    return path.read_bytes()


CONTENT_TRICKS: dict[str, Callable[[Path], tuple[str, bytes]]] = {
    "gpkg-that-is-geojson": lambda t: ("x.gpkg", geojson()),
    "json-that-is-gpkg": lambda t: ("x.json", _gpkg(t)),
    "csv-that-is-gpkg": lambda t: ("x.csv", _gpkg(t)),
    "csv-that-is-binary": lambda t: ("x.csv", random.Random(9).randbytes(8192)),
    "csv-that-is-a-zip": lambda t: ("x.csv", make_zip(shapefile_parts(t))),
    "xlsx-that-is-a-shapefile-zip": lambda t: ("x.xlsx", make_zip(shapefile_parts(t))),
    "geojson-that-is-csv": lambda t: ("x.geojson", "code,name,type\nG-1,新,党委\n".encode()),
}


@pytest.mark.parametrize("trick", list(CONTENT_TRICKS))
def test_content_must_match_the_extension(
    client: TestClient, clean_db: str, tmp_path: Path, trick: str
) -> None:
    name, body = CONTENT_TRICKS[trick](tmp_path)
    refused(upload(client, name, body))
    assert table(clean_db, "SELECT code FROM organisations WHERE code = 'G-1'") == []


def test_messages_quote_at_most_a_truncated_header(client: TestClient) -> None:
    names = [f"c{i:03d}\x07" + "长" * 90 for i in range(100)]
    csv = (",".join(names) + "\n" + ",".join("v" for _ in names) + "\n").encode()
    r = upload(client, "wide.csv", csv)
    assert r.status_code == 422, r.text
    message = r.json()["report"]["errors"][0]["message"]
    listed = message.split("The file has: ", 1)[1]
    shown = listed.split(" … and ")[0].split(", ")
    assert len(shown) <= 40 and all(len(n) <= 64 and n.isprintable() for n in shown)
    assert "c099" not in r.text and "\x07" not in message


# --- scope --------------------------------------------------------------------------------------

ORGS_CSV = (
    "code,name,type,parent_code,lon,lat\n"
    "A-N,新支部,党支部,A-Z,116.30,39.90\n"  # 1: new, under A: in scope
    "B-Z,改名,党总支,B-W,116.50,39.95\n"  # 2: B's general branch
    "B-N,新支部,党支部,B-W,116.50,39.95\n"  # 3: new, under B
    "A-B,搬走,党支部,B-W,116.30,39.90\n"  # 4: moves A's branch to B
    "A-W,根,党委,,116.30,39.90\n"  # 5: the root itself, unchanged
    "B-B,抢来,党支部,A-Z,116.50,39.95\n"  # 6: pulls B's branch into A
    "A-N2,新支部,党支部,A-N,116.30,39.90\n"  # 7: new, under row 1: in scope
)
MEMBERS_CSV = (
    "external_id,name,branch_code,status\n"
    "A-NEW,新党员,A-B,正式\n"  # 1: in scope
    "A-M1,搬走,B-B,正式\n"  # 2: A's member moved to B
    "B-M1,改名,B-B,正式\n"  # 3: B's member
    "B-NEW,新党员,B-B,正式\n"  # 4: new in B
    "B-M2,抢来,A-B,正式\n"  # 5: B's member pulled into A
)
SERVICE_POINTS_CSV = (
    "code,name,kind,org_code,lon,lat\n"
    "A-SP2,新站,党群服务站,A-Z,116.30,39.90\n"  # 1: in scope
    "B-SP,改名,党群服务中心,B-W,116.50,39.95\n"  # 2: B's
    "N-SP,无主,党群服务站,,116.40,39.90\n"  # 3: no organisation
    "B-SP2,新站,党群服务站,B-Z,116.50,39.95\n"  # 4: new in B
    "B-SP,再改,党群服务中心,A-W,116.50,39.95\n"  # 5: B's pulled into A (and a duplicate)
)
ACTIVITIES_CSV = (
    "code,title,kind,organiser_code,starts_at,ends_at,lon,lat\n"
    "A-A9,学习,学习,A-B,2030-01-01T09:00+08:00,2030-01-01T11:00+08:00,116.3,39.9\n"
    "B-A0,改,学习,B-W,2030-01-01T09:00+08:00,2030-01-01T11:00+08:00,116.5,39.9\n"
    "B-A9,新,学习,B-Z,2030-01-01T09:00+08:00,2030-01-01T11:00+08:00,116.5,39.9\n"
    "B-A1,抢,学习,A-W,2030-01-01T09:00+08:00,2030-01-01T11:00+08:00,116.5,39.9\n"
)
SNAPSHOTS = {
    "organisations": "SELECT o.code, o.name, p.code FROM organisations o "
    "LEFT JOIN organisations p ON p.id = o.parent_id",
    "members": "SELECT m.external_id, m.name, o.code FROM members m "
    "JOIN organisations o ON o.id = m.branch_id",
    "service-points": "SELECT s.code, s.name, s.org_id FROM service_points s",
    "activities": "SELECT a.code, a.title, a.organiser_id FROM activities a",
}


@pytest.mark.parametrize(
    ("kind", "body", "outside"),
    [
        ("organisations", ORGS_CSV, [2, 3, 4, 6]),
        ("members", MEMBERS_CSV, [2, 3, 4, 5]),
        ("service-points", SERVICE_POINTS_CSV, [2, 3, 4, 5]),
        ("activities", ACTIVITIES_CSV, [2, 3, 4]),
    ],
)
@pytest.mark.parametrize("skip_invalid", ["false", "true"])
def test_bound_steward_writes_only_its_subtree(
    client: TestClient,
    clean_db: str,
    kind: str,
    body: str,
    outside: list[int],
    skip_invalid: str,
) -> None:
    before = table(clean_db, SNAPSHOTS[kind])
    r = upload(
        client, f"{kind}.csv", body.encode(), kind, user="steward_a", skip_invalid=skip_invalid
    )
    assert r.status_code == 422, r.text
    errors = r.json()["report"]["errors"]
    assert sorted({e["row"] for e in errors if e["code"] == "out_of_scope"}) == outside
    assert table(clean_db, SNAPSHOTS[kind]) == before  # atomic: not even row 1 was written


def test_bound_steward_may_not_import_unowned_kinds(client: TestClient) -> None:
    r = upload(client, "b.geojson", geojson(), "buildings", user="steward_a")
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"


def test_admin_writes_everywhere(client: TestClient, clean_db: str) -> None:
    r = upload(client, "orgs.csv", ORGS_CSV.encode())
    assert r.status_code == 201, r.text
    parents = dict((c, p) for c, _, p in table(clean_db, SNAPSHOTS["organisations"]))
    assert parents["A-B"] == "B-W" and parents["B-B"] == "A-Z" and parents["A-N2"] == "A-N"


# --- image bombs and panorama paths ------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width×height but carries almost no data (Pillow reads the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(40000, 20000), (6000, 12000), (4000, 10000)])
def test_image_bomb_upload_is_413(client: TestClient, size: tuple[int, int]) -> None:
    headers = bearer(client, "steward_a")
    files = {"file": ("bomb.png", png_header(*size), "image/png")}
    r = client.post(
        "/api/panoramas", files=files, data={"lon": "116.3", "lat": "39.9"}, headers=headers
    )
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "PayloadTooLarge"


def small_panorama(path: Path) -> None:
    Image.new("RGB", (64, 32), (200, 30, 30)).save(path, "PNG")


def panorama_csv(folder: Path, images: list[str]) -> Path:
    rows = [f"P-{i},全景{i},{img},116.30,39.90" for i, img in enumerate(images, 1)]
    path = folder / "panoramas.csv"
    path.write_text("code,title,image,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def rejected_rows(url: str, path: Path, code: str) -> list[int]:
    with pytest.raises(ImportRejected) as caught:
        import_file(url, "panoramas", path, progress=False)
    errors: list[dict[str, Any]] = caught.value.report["errors"]  # type: ignore[assignment]
    return sorted({int(e["row"]) for e in errors if e["code"] == code})


def test_panorama_import_names_the_bomb_row(clean_db: str, tmp_path: Path) -> None:
    small_panorama(tmp_path / "ok.png")
    (tmp_path / "bomb.png").write_bytes(png_header(40000, 20000))
    (tmp_path / "tall.png").write_bytes(png_header(4000, 10000))
    path = panorama_csv(tmp_path, ["ok.png", "bomb.png", "tall.png"])
    assert rejected_rows(clean_db, path, "image_too_large") == [2, 3]
    assert table(clean_db, "SELECT code FROM panoramas") == []


def test_panorama_paths_stay_in_the_import_folder(clean_db: str, tmp_path: Path) -> None:
    folder, outside = tmp_path / "import", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    small_panorama(folder / "ok.png")
    small_panorama(outside / "secret.png")
    (folder / "link.png").symlink_to(outside / "secret.png")
    (folder / "sub").mkdir()
    small_panorama(folder / "sub" / "fine.png")
    images = [
        "ok.png",
        "../elsewhere/secret.png",
        str(outside / "secret.png"),
        "link.png",
        "../../../../../../etc/passwd",
        "sub/fine.png",
        "sub/../ok.png",
    ]
    path = panorama_csv(folder, images)
    assert rejected_rows(clean_db, path, "path_outside_folder") == [2, 3, 4, 5, 7]
    assert table(clean_db, "SELECT code FROM panoramas") == []


def test_uploaded_panorama_list_cannot_name_server_files(client: TestClient) -> None:
    csv = (
        "code,title,image,lon,lat\nP-1,t,/etc/passwd,116.3,39.9\nP-2,t,../../etc/hosts,116.3,39.9\n"
    )
    r = upload(client, "panoramas.csv", csv.encode(), "panoramas")
    assert r.status_code == 422, r.text
    errors = r.json()["report"]["errors"]
    assert sorted(e["row"] for e in errors if e["code"] == "path_outside_folder") == [1, 2]
    assert not any(e["code"] == "bad_image" for e in errors)  # never opened
