"""Tiles at the edge (issue 15 §4): `djmap tiles export --all-public` writes the sample's public
layers as versioned PMTiles archives plus index.json; a static server with HTTP Range serves
them; the `pmtiles` reader reads them back over HTTP and every tile equals the server's own;
`djmap tiles publish` uploads them to S3 (moto's server, a real S3 API on loopback) with the
cache headers a CDN needs; Chromium draws a public layer from the archive, not from /api/tiles.
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from pmtiles.reader import Reader, all_tiles
from pmtiles.tile import Compression, TileType
from static_range import static_server
from typer.testing import CliRunner
from web_browser import Browser, serve, wait_for_map

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from geo.cluster import Cluster
from geo.errors import InvalidInput
from geo.settings import DatabaseSettings
from tiles.archive import INDEX, INDEX_FORMAT, public_layers
from tiles.publish import ARCHIVE_CACHE, ARCHIVE_TYPE, INDEX_CACHE, target_for

DB = "djmap_pmtiles"
TMS = morecantile.tms.get("WebMercatorQuad")
GetBytes = Callable[[int, int], bytes]
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::edge/*",
        }
    ],
}


def _copy_sample(cluster: Cluster) -> str:
    """A throwaway copy of the sample district (the export builds cluster tables and heat cells
    in its database; djmap_sample stays read-only)."""
    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        for _ in range(20):
            try:
                conn.execute(f"CREATE DATABASE {DB} TEMPLATE djmap_sample STRATEGY FILE_COPY")
                break
            except psycopg.errors.ObjectInUse:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'djmap_sample' AND state = 'idle'"
                )
                time.sleep(0.5)
        else:
            raise RuntimeError("djmap_sample stays in use; cannot copy it")
    return cluster.url.rsplit("/", 1)[0] + "/" + DB


@pytest.fixture(scope="module")
def edge_db(cluster: Cluster, sample_url: str) -> Iterator[str]:
    url = _copy_sample(cluster)
    yield url
    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


@pytest.fixture(scope="module")
def exported(edge_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`djmap tiles export --all-public --format pmtiles OUT/` on the sample district."""
    out = tmp_path_factory.mktemp("edge") / "public"
    home = tmp_path_factory.mktemp("edge-home")
    env = {"DJMAP_DATABASE_URL": edge_db, "DJMAP_HOME": str(home)}
    args = ["tiles", "export", "--all-public", "--format", "pmtiles", str(out)]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def origin(edge_db: str) -> Iterator[TestClient]:
    """The djmap app on the same database: the tiles the archives must equal."""
    with TestClient(create_app(Settings(db=DatabaseSettings(database_url=edge_db)))) as client:
        yield client


def _index(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    return doc


def http_range(client: httpx.Client, url: str) -> GetBytes:
    """The `pmtiles` reader's byte source over HTTP Range; every answer must be a 206."""

    def get(offset: int, length: int) -> bytes:
        res = client.get(url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        assert res.status_code == 206, (url, res.status_code)
        assert res.headers["content-range"].startswith(f"bytes {offset}-")
        return res.content

    return get


def canonical(raw: bytes) -> dict[str, list[str]]:
    """A decoded tile with each layer's features in a fixed order (mapbox_vector_tile)."""
    decoded = mapbox_vector_tile.decode(raw)
    return {
        name: sorted(json.dumps(f, sort_keys=True) for f in layer["features"])
        for name, layer in decoded.items()
    }


def origin_tile(client: TestClient, layer: str, z: int, x: int, y: int) -> bytes:
    res = client.get(f"/api/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert res.status_code == 200, res.text
    return res.content


def test_export_writes_one_versioned_archive_per_public_layer(exported: Path) -> None:
    index = _index(exported)
    assert index["format"] == INDEX_FORMAT and index["audience"] == "public"
    assert set(index["layers"]) == {layer.id for layer in public_layers()}
    assert {"members", "member_heat"}.isdisjoint(index["layers"])  # never a member point
    stored = {k: e for k, e in index["layers"].items() if e["archive"] is not None}
    assert {"service_points", "roads", "buildings", "boundary"} <= set(stored)
    for layer_id, entry in stored.items():
        assert entry["archive"] == f"{layer_id}.{entry['token']}.pmtiles"
        assert (exported / entry["archive"]).stat().st_size == entry["bytes"]
    for entry in index["layers"].values():
        assert (entry["archive"] is None) == (entry["tiles"] == 0)  # no features: no archive
    names = sorted(p.name for p in exported.iterdir())
    assert names == sorted([INDEX, *(e["archive"] for e in stored.values())])


def test_archives_read_over_http_range_equal_the_servers_tiles(
    exported: Path, origin: TestClient
) -> None:
    index = _index(exported)
    compared = 0
    with static_server(exported) as static, httpx.Client(base_url=static.base) as http:
        for layer_id, entry in index["layers"].items():
            if entry["archive"] is None:
                continue
            get = http_range(http, f"/{entry['archive']}")
            reader = Reader(get)
            header, meta = reader.header(), reader.metadata()
            assert header["tile_type"] == TileType.MVT
            assert header["tile_compression"] == Compression.GZIP
            assert (header["min_zoom"], header["max_zoom"]) == (entry["minzoom"], entry["maxzoom"])
            assert meta["vector_layers"][0]["id"] == layer_id
            assert meta["djmap"] == {"token": entry["token"], "audience": "public"}
            west, south, east, north = meta["bounds"]
            corners = [header[f"{k}_e7"] for k in ("min_lon", "min_lat", "max_lon", "max_lat")]
            assert corners == [int(v * 1e7) for v in (west, south, east, north)]
            found = {}
            for (z, x, y), gz in all_tiles(get):
                raw = gzip.decompress(gz)
                assert raw, "an empty tile was stored"
                served = origin_tile(origin, layer_id, z, x, y)
                assert raw == served or canonical(raw) == canonical(served)  # decoded if need be
                found[(z, x, y)] = True
                compared += 1
            assert len(found) == entry["tiles"]
            assert reader.get(entry["maxzoom"], 0, 0) is None  # off the district: not stored
            _no_tile_left_out(origin, layer_id, found)
        assert all(r[2] for r in static.requests if r[1].endswith(".pmtiles"))  # ranges only
    assert compared > 500


def _no_tile_left_out(
    origin: TestClient, layer_id: str, found: dict[tuple[int, int, int], bool]
) -> None:
    """Every child (to z12) of an archived tile that the archive lacks is empty at the server:
    the export walked down from every tile with features and left out only empty ones."""
    for z, x, y in [k for k in found if k[0] < 12]:
        for child in TMS.children(morecantile.Tile(x, y, z)):
            if (child.z, child.x, child.y) not in found:
                assert origin_tile(origin, layer_id, child.z, child.x, child.y) == b"", child


def test_export_again_keeps_the_archives_the_index_names(exported: Path, edge_db: str) -> None:
    """A rerun renders only layers whose data moved (the origin app above ran its own derived
    builds meanwhile, so some may have); an archive once written never changes."""
    before_index = _index(exported)["layers"]
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in exported.glob("*.pmtiles")}
    args = ["tiles", "export", "--all-public", str(exported)]
    result = CliRunner().invoke(cli, args, env={"DJMAP_DATABASE_URL": edge_db})
    assert result.exit_code == 0, result.output
    after_index = _index(exported)["layers"]
    kept = [k for k, e in after_index.items() if e["token"] == before_index[k]["token"]]
    assert {"service_points", "roads", "buildings"} <= set(kept)
    for layer_id in kept:
        assert after_index[layer_id] == before_index[layer_id]
    for name, (mtime, body) in before.items():  # untouched, the replaced ones included
        assert (exported / name).stat().st_mtime_ns == mtime
        assert (exported / name).read_bytes() == body


def test_export_refuses_bad_arguments(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (
        ["tiles", "export", str(tmp_path)],  # neither --layer nor --all-public
        ["tiles", "export", "--all-public", "--layer", "x", str(tmp_path)],
        ["tiles", "export", "--all-public", "--format", "mbtiles", str(tmp_path)],
        ["tiles", "export", "--all-public", "--audience", "admin", str(tmp_path)],
        ["tiles", "publish", str(tmp_path), str(tmp_path / "out")],  # no index.json
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert "error" in result.output
    with pytest.raises(InvalidInput):
        target_for("ftp://host/x")


def test_publish_sends_only_archives_of_the_folder(exported: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    index = _index(exported)
    entry = index["layers"]["service_points"]
    (tmp_path / "secret.pmtiles").write_bytes(b"not for publication")
    entry["archive"] = "../secret.pmtiles"
    index["layers"] = {"service_points": entry}
    (src / INDEX).write_text(json.dumps(index), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tiles", "publish", str(src), str(tmp_path / "www")])
    assert result.exit_code == 1 and "not an archive of this folder" in result.output
    assert not (tmp_path / "www").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server in its own process on loopback, and the environment that reaches it."""
    port = _free_port()
    env = {
        "DJMAP_S3_ENDPOINT": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "edge-test",
        "AWS_SECRET_ACCESS_KEY": "edge-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(env["DJMAP_S3_ENDPOINT"], timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _client(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["DJMAP_S3_ENDPOINT"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def test_publish_to_s3_with_cdn_headers_and_read_back(exported: Path, s3: dict[str, str]) -> None:
    client = _client(s3)
    client.create_bucket(Bucket="edge")
    client.put_bucket_policy(Bucket="edge", Policy=json.dumps(PUBLIC_READ))  # a CDN's origin
    runner = CliRunner()
    result = runner.invoke(cli, ["tiles", "publish", str(exported), "s3://edge/djmap/"], env=s3)
    assert result.exit_code == 0, result.output
    index = _index(exported)
    stored = [e for e in index["layers"].values() if e["archive"] is not None]
    for entry in stored:
        head = client.head_object(Bucket="edge", Key=f"djmap/{entry['archive']}")
        assert head["CacheControl"] == ARCHIVE_CACHE
        assert head["ContentType"] == ARCHIVE_TYPE
        assert head["ContentLength"] == entry["bytes"]
    head = client.head_object(Bucket="edge", Key=f"djmap/{INDEX}")
    assert (head["CacheControl"], head["ContentType"]) == (INDEX_CACHE, "application/json")
    body = client.get_object(Bucket="edge", Key=f"djmap/{INDEX}")["Body"].read()
    assert json.loads(body) == index
    # the standard reader, over the store's own HTTP Range answers
    name = index["layers"]["service_points"]["archive"]
    with httpx.Client(base_url=s3["DJMAP_S3_ENDPOINT"]) as http:
        remote = dict(all_tiles(http_range(http, f"/edge/djmap/{name}")))
    with (exported / name).open("rb") as f:
        local = dict(all_tiles(lambda offset, length: _read(f, offset, length)))
    assert remote == local and remote
    again = runner.invoke(cli, ["tiles", "publish", str(exported), "s3://edge/djmap"], env=s3)
    assert again.exit_code == 0, again.output
    assert again.output.count("already there") == len(stored)  # immutable: not re-sent


def _read(f: Any, offset: int, length: int) -> bytes:
    f.seek(offset)
    data: bytes = f.read(length)
    return data


def test_publish_to_a_folder(exported: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    result = CliRunner().invoke(cli, ["tiles", "publish", str(exported), str(dest)])
    assert result.exit_code == 0, result.output
    assert _index(dest) == _index(exported)
    for entry in _index(exported)["layers"].values():
        if entry["archive"] is None:
            continue
        assert (dest / entry["archive"]).read_bytes() == (exported / entry["archive"]).read_bytes()
    headers = (dest / "_headers").read_text()
    assert ARCHIVE_CACHE in headers and INDEX_CACHE in headers


def test_anonymous_page_draws_public_layers_from_the_archives(
    exported: Path, edge_db: str, browser: Browser
) -> None:
    with static_server(exported) as static:
        home = tempfile.mkdtemp(prefix="djmap-edge-web-")
        env = {"DJMAP_PUBLIC_TILES_BASE": static.base + "/", "DJMAP_HOME": home}
        with serve(edge_db, env) as base:
            page, requests, errors = _open(browser, base, "/", allowed=static.base)
            try:
                wait_for_map(page)
                page.wait_for_function(
                    """() => {
                      const layers = window.djmapMap.deck.layerManager.getLayers();
                      const sp = layers.find((l) => l.id === 'service_points');
                      if (!sp || !sp.state.tileset) return false;
                      return sp.state.tileset.tiles.some((t) => t.content && t.content.length);
                    }""",
                )
                stats = page.evaluate("() => JSON.parse(JSON.stringify(deckgl.edgeStats))")
            finally:
                page.close()
    assert errors == []
    assert "service_points" in stats["layers"], stats
    assert stats["fallbacks"] == [] and stats["tiles"] > 0, stats
    edge = set(stats["layers"])  # the page's public MVT layers, each read from the edge
    assert {"service_points", "organisations"} <= edge
    tiles = [urlsplit(u).path.split("/") for u in requests if "/api/tiles/" in u]
    assert [t for t in tiles if t[3] in edge] == []  # none of their tiles from the origin
    # `/` opens with activities of the next 30 days: filtered tiles, which only the origin makes
    timed = [u for u in requests if "/api/tiles/activities/" in u and ".mvt" in u]
    assert timed and all("from=" in u for u in timed), timed[:3]
    ranged = [r for r in static.requests if r[1].endswith(".pmtiles") and r[2]]
    assert any("service_points." in r[1] for r in ranged)
    assert ("GET", "/index.json", "") in static.requests


def _open(browser: Browser, base: str, path: str, allowed: str) -> tuple[Any, list[str], list[str]]:
    """A page on base+path whose requests may go to `allowed` too (any other host: aborted);
    its requests and its script errors."""
    page = browser.context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    hosts = {urlsplit(base).netloc, urlsplit(allowed).netloc}

    def route(r: Any) -> None:
        url = r.request.url
        requests.append(url)
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc in hosts:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(base + path, wait_until="load")
    return page, requests, errors
