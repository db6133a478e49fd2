"""Terrain-RGB: encoding, DEM → tiles round trip within 0.1 m, TileJSON and tile routes, CLI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api.app import create_app
from api.settings import Settings
from geo.errors import InvalidInput
from geo.settings import DatabaseSettings
from tiles.terrain import TMS, build_terrain, decode, encode, parse_zooms

WEST, NORTH, RES = 116.30, 40.00, 0.00025  # 800 × 800 px of about 21 m × 28 m
SIZE = 800


def plane(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The synthetic DEM surface: a tilted plane between roughly 100 m and 900 m."""
    return 300.0 + 2000.0 * (lon - WEST) + 1500.0 * (lat - (NORTH - SIZE * RES))


@pytest.fixture(scope="module")
def dem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A float32 GeoTIFF in EPSG:4326 sampled from `plane` at pixel centres, with a nodata corner."""
    path = tmp_path_factory.mktemp("dem") / "dem.tif"
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    lon = WEST + (cols + 0.5) * RES
    lat = NORTH - (rows + 0.5) * RES
    data = plane(lon, lat).astype(np.float32)
    data[:20, :20] = -9999.0
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": rasterio.Affine(RES, 0, WEST, 0, -RES, NORTH),
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(scope="module")
def home(dem: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with terrain built for zooms 10-13."""
    home = tmp_path_factory.mktemp("home")
    build_terrain(dem, home, (10, 13), progress=False)
    return home


@pytest.fixture
def client(db_url: str, home: Path) -> Iterator[TestClient]:
    app = create_app(Settings(db=DatabaseSettings(database_url=db_url, home=home)))
    with TestClient(app) as c:
        yield c


def test_encoding_round_trip_and_formula() -> None:
    h = np.array([[-10000.0, 0.0, 8848.86, 123.45, -432.1]])
    rgb = encode(h)
    assert np.abs(decode(rgb) - h).max() <= 0.05 + 1e-9
    r, g, b = (int(v) for v in rgb[0, 1])
    assert -10000 + (r * 65536 + g * 256 + b) * 0.1 == pytest.approx(0.0)


def tile_heights(png: bytes) -> np.ndarray:
    """Decode a served PNG back to metres."""
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGB"
    return decode(np.asarray(img))


def pixel_lonlat(tile: morecantile.Tile, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat of every pixel centre of a tile."""
    b = TMS.xy_bounds(tile)
    step = (b.right - b.left) / size
    x = b.left + (np.arange(size) + 0.5) * step
    y = b.top - (np.arange(size) + 0.5) * step
    xx, yy = np.meshgrid(x, y)
    lon = np.degrees(xx / 6378137.0)
    lat = np.degrees(2 * np.arctan(np.exp(yy / 6378137.0)) - np.pi / 2)
    return lon, lat


def test_tile_decodes_to_the_dem_within_a_decimetre(client: TestClient) -> None:
    tile = TMS.tile(116.40, 39.90, 13)
    r = client.get(f"/api/terrain/{tile.z}/{tile.x}/{tile.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    heights = tile_heights(r.content)
    lon, lat = pixel_lonlat(tile)
    inner = (
        (lon > WEST + RES)
        & (lon < WEST + (SIZE - 1) * RES)
        & (lat < NORTH - 21 * RES)
        & (lat > NORTH - (SIZE - 1) * RES)
    )
    assert inner.sum() > 10_000
    assert np.abs(heights[inner] - plane(lon[inner], lat[inner])).max() <= 0.1


def test_low_zoom_tile_is_averaged_close_to_the_dem(client: TestClient) -> None:
    tile = TMS.tile(116.40, 39.90, 10)
    heights = tile_heights(client.get(f"/api/terrain/{tile.z}/{tile.x}/{tile.y}.png").content)
    lon, lat = pixel_lonlat(tile)
    inner = (lon > WEST + 0.01) & (lon < WEST + 0.19) & (lat < NORTH - 0.01) & (lat > NORTH - 0.19)
    assert np.abs(heights[inner] - plane(lon[inner], lat[inner])).max() < 2.0
    assert (heights[(lon > WEST + 0.3)] == 0).all(), "outside the DEM is sea level"


def test_tilejson(client: TestClient) -> None:
    r = client.get("/api/terrain/tilejson.json")
    assert r.status_code == 200
    tj = r.json()
    assert tj["tilejson"] == "3.0.0" and tj["encoding"] == "mapbox"
    assert (tj["minzoom"], tj["maxzoom"]) == (10, 13)
    assert tj["bounds"] == pytest.approx([WEST, NORTH - SIZE * RES, WEST + SIZE * RES, NORTH])
    url = tj["tiles"][0]
    assert "/api/terrain/{z}/{x}/{y}.png?v=" in url
    tile = TMS.tile(116.40, 39.90, 12)
    path = url.split("testserver", 1)[1].format(z=tile.z, x=tile.x, y=tile.y)
    versioned = client.get(path)
    assert versioned.status_code == 200 and "max-age=86400" in versioned.headers["cache-control"]
    again = client.get(path, headers={"If-None-Match": versioned.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("z", "x", "y", "status"),
    [
        (14, *TMS.tile(116.40, 39.90, 14)[:2], 404),  # above maxzoom
        (9, *TMS.tile(116.40, 39.90, 9)[:2], 404),  # below minzoom
        (3, 8, 0, 400),  # outside the grid
        (23, 0, 0, 400),
    ],
)
def test_missing_and_invalid_tiles(client: TestClient, z: int, x: int, y: int, status: int) -> None:
    assert client.get(f"/api/terrain/{z}/{x}/{y}.png").status_code == status


def test_tile_without_dem_in_range_is_flat(client: TestClient) -> None:
    r = client.get("/api/terrain/13/0/0.png")
    assert r.status_code == 200 and r.headers["x-djmap-terrain"] == "flat"
    assert (tile_heights(r.content) == 0).all()


def test_parse_zooms() -> None:
    assert parse_zooms("8-15") == (8, 15) and parse_zooms("12") == (12, 12)
    for bad in ("15-8", "a-b", "0-30", ""):
        with pytest.raises(InvalidInput):
            parse_zooms(bad)


def test_cli_build(dem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli import app

    monkeypatch.setenv("DJMAP_HOME", str(tmp_path))
    monkeypatch.setattr("tiles.terrain.PARALLEL_MIN", 0)  # exercise the worker pool
    runner = CliRunner()
    ok = runner.invoke(app, ["tiles", "terrain", "build", "--dem", str(dem), "--zooms", "11-12"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "terrain" / "current.json").exists()
    assert list((tmp_path / "terrain" / "builds").rglob("*.png"))
    bad = runner.invoke(app, ["tiles", "terrain", "build", "--dem", str(dem), "--zooms", "x"])
    assert bad.exit_code == 1 and "zooms" in bad.output


def test_projected_dem_is_reprojected(tmp_path: Path) -> None:
    """A DEM in UTM 50N (EPSG:32650) lands at the right place: decoded heights match the plane."""
    from pyproj import Transformer

    x0, y0, res, n = 449_000.0, 4_412_000.0, 30.0, 400
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    data = 100.0 + 0.005 * (cols + 0.5) * res + 0.004 * (n - rows - 0.5) * res
    dem = tmp_path / "utm.tif"
    with rasterio.open(
        dem, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
        crs="EPSG:32650", transform=rasterio.Affine(res, 0, x0, 0, -res, y0 + n * res),
    ) as dst:  # fmt: skip
        dst.write(data.astype(np.float32), 1)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    build_terrain(dem, tmp_path, (13, 13), progress=False)
    lon_c, lat_c = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True).transform(
        x0 + n * res / 2, y0 + n * res / 2
    )
    tile = TMS.tile(lon_c, lat_c, 13)
    pngs = list((tmp_path / "terrain" / "builds").rglob(f"13/{tile.x}/{tile.y}.png"))
    heights = tile_heights(pngs[0].read_bytes())
    lon, lat = pixel_lonlat(tile)
    x, y = to_utm.transform(lon, lat)
    inner = (x > x0 + res) & (x < x0 + (n - 1) * res) & (y > y0 + res) & (y < y0 + (n - 1) * res)
    expected = 100.0 + 0.005 * (x - x0) + 0.004 * (y - y0)
    assert inner.sum() > 10_000
    assert np.abs(heights[inner] - expected[inner]).max() <= 0.1


def test_rebuild_of_the_same_dem_is_skipped(dem: Path, tmp_path: Path) -> None:
    first = build_terrain(dem, tmp_path, (10, 10), progress=False, workers=1)
    again = build_terrain(dem, tmp_path, (10, 10), progress=False, workers=1)
    assert again["skipped"] is True and again["build_id"] == first["build_id"]
    other_zooms = build_terrain(dem, tmp_path, (10, 11), progress=False, workers=1)
    assert "skipped" not in other_zooms and other_zooms["build_id"] != first["build_id"]
    forced = build_terrain(dem, tmp_path, (10, 11), progress=False, workers=1, force=True)
    assert "skipped" not in forced and forced["build_id"] != other_zooms["build_id"]
