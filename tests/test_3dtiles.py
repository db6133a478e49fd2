"""3D Tiles of buildings: tileset invariants, content parsing, batch tables, glTF validity, freshness.

Buildings are inserted into the test database (200 random footprints incl. a courtyard with a hole
and two-part MultiPolygons, some with a party organisation), built with a small quadtree so the
tileset has several levels, then every file is read back with py3dtiles and the Khronos validator.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pygltflib
import pytest
import shapely
from py3dtiles.tileset.content import B3dm, read_binary_tile_content
from py3dtiles.tileset.content.gltf import Gltf
from py3dtiles.tileset.content.gltf_utils import GltfMesh, gltf_from_meshes
from pyproj import Transformer
from typer.testing import CliRunner

import tiles.threed.build as build_module
from tiles.threed import (
    BATCH_PROPERTIES,
    build_buildings,
    current_manifest,
    ground_id,
    is_stale,
)
from tiles.threed.geometry import EnuFrame, extrude, geodetic_to_ecef
from tiles.threed.source import current_versions
from tiles.threed.synthetic import footprints, insert_buildings, insert_party_orgs
from tiles.threed.tiling import Plan

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = ROOT / "tiles" / "threed" / "validate.mjs"
LOADERS_CHECK = ROOT / "tiles" / "threed" / "loaders_check.mjs"
N = 200
SMALL = Plan(leaf_max=40, keep=10)  # forces a few quadtree levels with 200 buildings
ECEF_TO_GEO = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def reset(url: str) -> None:
    """Empty the tables the tileset reads."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE buildings, organisations RESTART IDENTITY CASCADE")


@pytest.fixture(scope="module")
def dataset(db_url: str) -> dict[str, Any]:
    """200 buildings, every 7th with a party branch in it."""
    reset(db_url)
    geoms, heights = footprints(N, seed=7)
    ids = insert_buildings(db_url, geoms, heights)
    party = ids[::7]
    insert_party_orgs(db_url, party)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT b.id, o.name FROM buildings b LEFT JOIN organisations o ON o.building_id = b.id"
        ).fetchall()
    return {"ids": ids, "party": {int(i): n for i, n in rows if n}, "heights": heights}


@pytest.fixture(scope="module", params=["b3dm", "glb"])
def built(
    request: pytest.FixtureRequest,
    dataset: dict[str, Any],
    db_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path]]:
    """A managed build in a private home, in both formats (contents written by 2 forked workers)."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    old = build_module.PARALLEL_MIN
    build_module.PARALLEL_MIN = 0
    try:
        result = build_buildings(
            db_url, home, fmt=request.param, workers=2, progress=False, plan=SMALL
        )
    finally:
        build_module.PARALLEL_MIN = old
    assert result.built
    yield request.param, result.path


def tiles_of(tile: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(tile, parent) for every tile, parents first."""
    stack: list[tuple[dict[str, Any], dict[str, Any] | None]] = [(tile, None)]
    while stack:
        t, parent = stack.pop()
        yield t, parent
        stack.extend((c, t) for c in t.get("children", []))


def inside(inner: list[float], outer: list[float]) -> bool:
    """Region `inner` lies within region `outer`."""
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
        and inner[4] >= outer[4]
        and inner[5] <= outer[5]
    )


def test_tileset_structure(built: tuple[str, Path]) -> None:
    fmt, path = built
    doc = json.loads((path / "tileset.json").read_text())
    assert doc["asset"]["version"] == ("1.0" if fmt == "b3dm" else "1.1")
    root = doc["root"]
    assert len(root["transform"]) == 16 and "region" in root["boundingVolume"]
    assert doc["geometricError"] > root["geometricError"]
    levels = 0
    for tile, parent in tiles_of(root):
        assert tile["refine"] == "ADD"
        region = tile["boundingVolume"]["region"]
        assert region[0] < region[2] and region[1] < region[3] and region[4] < region[5]
        if parent is not None:
            assert tile["geometricError"] < parent["geometricError"]
            assert tile["geometricError"] == pytest.approx(parent["geometricError"] / 2)
            assert inside(region, parent["boundingVolume"]["region"])
            assert "transform" not in tile
        levels = max(levels, int(tile.get("content", {}).get("uri", "tiles/0/").split("/")[1]))
    assert levels >= 2, "the small plan must give a multi-level tree"


def decode_content(fmt: str, file: Path) -> tuple[np.ndarray, dict[str, Any], int]:
    """(glTF positions, batch properties, batch length) of one content, via py3dtiles' readers."""
    content = read_binary_tile_content(file)
    if fmt == "b3dm":
        assert isinstance(content, B3dm)
        gltf = content.body.gltf
        props: dict[str, Any] = dict(content.body.batch_table.header.data)
        length = int(content.body.feature_table.get_batch_length())
        ids = content.get_extra_field("batchid")
    else:
        assert isinstance(content, Gltf)
        gltf = content._gltf
        props = property_table(gltf)
        length = gltf.extensions["EXT_structural_metadata"]["propertyTables"][0]["count"]
        ids = content.get_extra_field("feature_id_0")
    assert ids is not None and ids.dtype == np.float32
    assert set(np.unique(ids).astype(int)) == set(range(length)), "every batch id is used"
    positions = content.get_vertices()
    assert positions is not None
    return np.asarray(positions, dtype=np.float64), props, length


def property_table(gltf: pygltflib.GLTF2) -> dict[str, list[Any]]:
    """Decode the EXT_structural_metadata property table (ids, strings and booleans)."""
    ext = gltf.extensions["EXT_structural_metadata"]
    table = ext["propertyTables"][0]
    blob = gltf.binary_blob()
    schema = ext["schema"]["classes"][table["class"]]["properties"]

    def view(i: int) -> bytes:
        bv = gltf.bufferViews[i]
        return blob[bv.byteOffset : bv.byteOffset + bv.byteLength]

    out: dict[str, list[Any]] = {}
    n = table["count"]
    for name, p in table["properties"].items():
        kind = schema[name]
        if kind["type"] == "STRING":
            offsets = np.frombuffer(view(p["stringOffsets"]), dtype=np.uint32)
            data = view(p["values"])
            out[name] = [data[offsets[i] : offsets[i + 1]].decode() for i in range(n)]
        else:
            dtype = {"UINT8": np.uint8, "FLOAT64": np.float64}[kind["componentType"]]
            out[name] = np.frombuffer(view(p["values"]), dtype=dtype)[:n].tolist()
    return out


def to_geodetic(positions: np.ndarray, transform: list[float]) -> np.ndarray:
    """lon/lat (radians) and height of glTF (y-up) positions under the root ENU→ECEF transform."""
    enu = np.column_stack(
        (positions[:, 0], -positions[:, 2], positions[:, 1], np.ones(len(positions)))
    )
    ecef = enu @ np.array(transform).reshape(4, 4, order="F").T
    lon, lat, h = ECEF_TO_GEO.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    return np.column_stack((np.radians(lon), np.radians(lat), h))


def test_contents_parse_and_account_for_every_building(
    built: tuple[str, Path], dataset: dict[str, Any]
) -> None:
    fmt, path = built
    doc = json.loads((path / "tileset.json").read_text())
    transform = doc["root"]["transform"]
    seen: list[int] = []
    for tile, _ in tiles_of(doc["root"]):
        if "content" not in tile:
            continue
        positions, props, length = decode_content(fmt, path / tile["content"]["uri"])
        assert set(props) >= {"id", "code", "name", "height", "use", "has_party_org", "party_org"}
        assert all(len(v) == length for v in props.values())
        geo = to_geodetic(positions, transform)
        w, s, e, n, lo, hi = tile["boundingVolume"]["region"]
        assert geo[:, 0].min() >= w and geo[:, 0].max() <= e
        assert geo[:, 1].min() >= s and geo[:, 1].max() <= n
        assert geo[:, 2].min() >= lo and geo[:, 2].max() <= hi
        for bid, has, org in zip(
            props["id"], props["has_party_org"], props["party_org"], strict=True
        ):
            assert has == (bid in dataset["party"])
            assert org == dataset["party"].get(bid, "")
        seen.extend(int(i) for i in props["id"])
    assert sorted(seen) == sorted(dataset["ids"]), "each building exactly once (ADD refinement)"


def test_every_gltf_passes_the_khronos_validator(built: tuple[str, Path]) -> None:
    fmt, path = built
    files = sorted(str(p) for p in (path / "tiles").rglob(f"*.{fmt}"))
    assert files
    out = subprocess.run(
        ["node", str(VALIDATOR), *files], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert len(report["files"]) == len(files)
    assert [(f["file"], f["errors"]) for f in report["files"] if f["numErrors"]] == []


def test_loaders_gl_reads_tileset_and_every_content(
    built: tuple[str, Path], dataset: dict[str, Any]
) -> None:
    """What deck.gl's Tile3DLayer uses: loaders.gl's Tiles3DLoader and Tileset3D."""
    fmt, path = built
    out = subprocess.run(["node", str(LOADERS_CHECK), str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    w, s, e, n = json.loads((path / "tileset.json").read_text())["root"]["boundingVolume"][
        "region"
    ][:4]
    lon, lat, _ = report["center"]
    assert np.degrees(w) < lon < np.degrees(e) and np.degrees(s) < lat < np.degrees(n)
    regions = {
        str(path / t["content"]["uri"]): t["boundingVolume"]["region"]
        for t, _ in tiles_of(json.loads((path / "tileset.json").read_text())["root"])
        if "content" in t
    }
    ids: list[int] = []
    for content in report["contents"]:
        # placed the way deck.gl places it (root transform, glTF y-up → z-up): upright, in its region
        w, s, e, n, lo, hi = regions[content["uri"]]
        lon0, lat0, h0, lon1, lat1, h1 = content["bounds"]
        assert np.degrees(w) <= lon0 and lon1 <= np.degrees(e)
        assert np.degrees(s) <= lat0 and lat1 <= np.degrees(n)
        assert lo <= h0 and h1 <= hi
        assert abs(h0) < 0.01 and h1 == pytest.approx(content["maxHeight"], abs=0.01)
        assert content["type"] == ("b3dm" if fmt == "b3dm" else "glTF")
        assert content["meshes"] == 1
        assert set(content["properties"]) == set(BATCH_PROPERTIES)
        assert len(content["ids"]) == content["batch"]
        ids.extend(content["ids"])
    assert sorted(ids) == sorted(dataset["ids"])


def test_validator_catches_the_py3dtiles_unsigned_int_batchid(tmp_path: Path) -> None:
    """The reason for our FLOAT ids: py3dtiles' own `batchids=` is rejected by glTF 2.0."""
    mesh = GltfMesh(np.eye(3, dtype=np.float32), batchids=np.zeros(3, dtype=np.uint32))
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"".join(gltf_from_meshes([mesh]).save_to_bytes()))
    out = subprocess.run(
        ["node", str(VALIDATOR), str(bad)], capture_output=True, text=True, check=True
    )
    codes = [e["code"] for e in json.loads(out.stdout)["files"][0]["errors"]]
    assert "MESH_PRIMITIVE_ATTRIBUTES_ACCESSOR_UNSIGNED_INT" in codes


def enu_xy(frame: EnuFrame, coords: Any) -> np.ndarray:
    """Ground-level ENU x/y of lon/lat coordinates."""
    lonlat = np.asarray(coords, dtype=np.float64)
    zero = np.zeros(len(lonlat))
    return frame.to_enu(geodetic_to_ecef(lonlat[:, 0], lonlat[:, 1], zero))[:, :2]


def test_extrusion_roof_area_and_outward_walls() -> None:
    """Roofs cover the footprint minus holes; every wall normal points out of the solid."""
    lon0, lat0 = 116.4, 39.9
    courtyard = shapely.Polygon(
        [(lon0, lat0), (lon0 + 6e-4, lat0), (lon0 + 6e-4, lat0 + 4e-4), (lon0, lat0 + 4e-4)],
        [
            [
                (lon0 + 2e-4, lat0 + 1e-4),
                (lon0 + 2e-4, lat0 + 3e-4),
                (lon0 + 4e-4, lat0 + 3e-4),
                (lon0 + 4e-4, lat0 + 1e-4),
            ]
        ],
    )
    ell = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    ell = shapely.affinity.translate(
        shapely.affinity.scale(ell, 2e-4, 2e-4, origin=(0, 0)), lon0 + 1e-3, lat0
    )
    geoms = np.array(
        [
            shapely.MultiPolygon([courtyard]),
            shapely.MultiPolygon([ell, shapely.affinity.translate(ell, 8e-4)]),
        ],
        dtype=object,
    )
    frame = EnuFrame(lon0 + 5e-4, lat0 + 2e-4)
    mesh = extrude(geoms, np.array([20.0, 35.0]), frame)
    a, b, c = (mesh.positions[mesh.triangles[:, i]] for i in range(3))
    face = np.cross(b - a, c - a)
    # winding agrees with the stored normals (front faces are counter-clockwise from outside)
    assert (np.einsum("ij,ij->i", face, mesh.normals[mesh.triangles[:, 0]]) > 0).all()
    for k, geom in enumerate(geoms):
        xy = [enu_xy(frame, p.exterior.coords) for p in geom.geoms]
        holes = [[enu_xy(frame, r.coords) for r in p.interiors] for p in geom.geoms]
        local = shapely.MultiPolygon(
            [shapely.Polygon(s, h) for s, h in zip(xy, holes, strict=True)]
        )
        tri = mesh.feature[mesh.triangles[:, 0]] == k
        up = mesh.normals[mesh.triangles[:, 0], 2] > 0.99
        roof_area = np.linalg.norm(face[tri & up], axis=1).sum() / 2
        assert roof_area == pytest.approx(local.area, rel=1e-3)
        walls = tri & ~up
        centre = (a[walls] + b[walls] + c[walls]) / 3
        normal = mesh.normals[mesh.triangles[walls, 0]]
        out = shapely.points(centre[:, :2] + 0.05 * normal[:, :2])
        inn = shapely.points(centre[:, :2] - 0.05 * normal[:, :2])
        assert not shapely.contains(local, out).any()
        assert shapely.contains(local, inn).all()


def test_rebuild_only_when_stale(db_url: str, dataset: dict[str, Any], tmp_path: Path) -> None:
    first = build_buildings(db_url, tmp_path, progress=False)
    assert first.built and first.manifest["versions"] == current_versions(db_url)
    again = build_buildings(db_url, tmp_path, progress=False)
    assert not again.built and again.manifest["build_id"] == first.manifest["build_id"]
    geoms, heights = footprints(1, seed=99, origin=(116.5, 39.95))
    insert_buildings(db_url, geoms, heights, prefix="NEW")
    assert is_stale(current_manifest(tmp_path), current_versions(db_url))
    fresh = build_buildings(db_url, tmp_path, progress=False)
    assert fresh.built and fresh.manifest["buildings"] == N + 1
    assert current_manifest(tmp_path) == fresh.manifest
    assert first.path.exists(), "the previous build stays for clients mid-download"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM buildings WHERE code LIKE 'NEW%'")


def test_cli_build_out_dir(db_url: str, dataset: dict[str, Any], tmp_path: Path) -> None:
    from api.cli import app

    runner = CliRunner()
    out = tmp_path / "export"
    first = runner.invoke(app, ["tiles", "3d", "build", "--format", "glb", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert (out / "tileset.json").exists() and list((out / "tiles").rglob("*.glb"))
    assert json.loads((out / "build.json").read_text())["buildings"] == N
    second = runner.invoke(app, ["tiles", "3d", "build", "--format", "glb", "--out", str(out)])
    assert second.exit_code == 0 and "up to date" in second.output
    bad = runner.invoke(app, ["tiles", "3d", "build", "--format", "obj", "--out", str(out)])
    assert bad.exit_code != 0


def test_empty_table_gives_a_valid_empty_tileset(db_url: str, tmp_path: Path) -> None:
    reset(db_url)
    result = build_buildings(db_url, tmp_path, progress=False)
    doc = json.loads((result.path / "tileset.json").read_text())
    assert result.manifest["buildings"] == 0 and "content" not in doc["root"]


def test_buildings_stand_on_the_terrain(db_url: str, tmp_path: Path) -> None:
    """With terrain built, each building's base is the lowest DEM height under its footprint."""
    import rasterio

    from tiles.terrain import build_terrain

    reset(db_url)
    geoms, heights = footprints(30, seed=11)
    ids = insert_buildings(db_url, geoms, heights)
    res, west, north, n = 0.0002, 116.385, 39.91, 150
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    dem = tmp_path / "dem.tif"
    with rasterio.open(
        dem, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
        crs="EPSG:4326", transform=rasterio.Affine(res, 0, west, 0, -res, north),
    ) as dst:  # fmt: skip
        dst.write((40.0 + 2.0 * cols + 1.0 * rows).astype(np.float32), 1)
    first_terrain = build_terrain(dem, tmp_path, (12, 12), progress=False)
    result = build_buildings(db_url, tmp_path, progress=False)
    assert result.manifest["ground"] == first_terrain["build_id"]
    doc = json.loads((result.path / "tileset.json").read_text())
    expected = {}
    for bid, geom in zip(ids, geoms, strict=True):
        lon, lat = shapely.get_coordinates(geom).T
        c, r = np.floor((lon - west) / res), np.floor((north - lat) / res)
        expected[bid] = float((40.0 + 2.0 * c + 1.0 * r).min())
    for tile, _ in tiles_of(doc["root"]):
        positions, props, _ = decode_content("b3dm", result.path / tile["content"]["uri"])
        content = read_binary_tile_content(result.path / tile["content"]["uri"])
        batch = content.get_extra_field("batchid").astype(int)  # type: ignore[union-attr]
        h = to_geodetic(positions, doc["root"]["transform"])[:, 2]
        for k, bid in enumerate(props["id"]):
            mine = h[batch == k]
            assert mine.min() == pytest.approx(expected[bid], abs=0.01)
            assert mine.max() == pytest.approx(expected[bid] + props["height"][k], abs=0.01)
    assert not build_buildings(db_url, tmp_path, progress=False).built
    build_terrain(dem, tmp_path, (12, 12), progress=False, force=True)  # a new terrain build
    assert is_stale(current_manifest(tmp_path), current_versions(db_url), ground_id(tmp_path))
    assert build_buildings(db_url, tmp_path, progress=False).built
