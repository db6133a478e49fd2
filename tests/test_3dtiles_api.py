"""HTTP routes of the buildings tileset: content types, caching, 404s, traversal, rebuilds after
writes (never by a GET)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from builds import builds_status, wait_built
from fastapi.testclient import TestClient
from py3dtiles.tileset.content import B3dm

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings
from tiles.threed import build_buildings
from tiles.threed.synthetic import footprints, insert_buildings, insert_party_orgs

BASE = "/api/3dtiles/buildings"


@pytest.fixture
def home(clean_db: str, tmp_path: Path) -> Path:
    """A home with a b3dm build of 120 buildings (3 of them party buildings)."""
    geoms, heights = footprints(120, seed=3)
    ids = insert_buildings(clean_db, geoms, heights)
    insert_party_orgs(clean_db, ids[:3])
    build_buildings(clean_db, tmp_path, progress=False)
    return tmp_path


def client_for(url: str, home: Path, **api: Any) -> TestClient:
    """A client of an app whose store is `home`."""
    db = DatabaseSettings(database_url=url, home=home)
    return TestClient(create_app(Settings(db=db, api=ApiSettings(**api))))


@pytest.fixture
def client(clean_db: str, home: Path) -> Iterator[TestClient]:
    """The app, with its lifespan (asyncpg pool) running."""
    with client_for(clean_db, home) as c:
        yield c


def contents(doc: dict[str, Any]) -> list[str]:
    """Every content URI of a tileset."""
    out, stack = [], [doc["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            out.append(tile["content"]["uri"])
        stack.extend(tile.get("children", []))
    return out


def test_tileset_and_contents(client: TestClient) -> None:
    r = client.get(f"{BASE}/tileset.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-djmap-tileset-stale"] == "false"
    etag = r.headers["etag"]
    assert client.get(f"{BASE}/tileset.json", headers={"If-None-Match": etag}).status_code == 304
    doc = r.json()
    build_id = doc["asset"]["tilesetVersion"]
    uris = contents(doc)
    assert uris and all(u.startswith(build_id + "/tiles/") for u in uris)
    total = 0
    for uri in uris:
        c = client.get(f"{BASE}/{uri}", headers={"Accept-Encoding": "gzip"})
        assert c.status_code == 200
        assert c.headers["content-type"] == "application/octet-stream"
        assert c.headers["content-encoding"] == "gzip"
        assert "immutable" in c.headers["cache-control"]
        plain = client.get(f"{BASE}/{uri}", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == c.content
        assert int(plain.headers["content-length"]) > int(c.headers["content-length"])
        b3dm = B3dm.from_bytes(c.content)
        total += int(b3dm.body.feature_table.get_batch_length())
        again = client.get(f"{BASE}/{uri}", headers={"If-None-Match": c.headers["etag"]})
        assert again.status_code == 304
    assert total == 120


@pytest.mark.parametrize(
    "path",
    [
        "{id}/tiles/0/9_9.b3dm",  # no such tile
        "{id}/tiles/0/0_0.glb",  # wrong format for this build
        "1-1-b3dm-ffff/tiles/0/0_0.b3dm",  # no such build
        "{id}/build.json",  # not a content
        "{id}/..%2F..%2Fcurrent.json",
        "{id}/tiles/..%2F..%2F..%2Fcurrent.json",
        "..%2F..%2F..%2Fetc/passwd",
        "{id}/%2Fetc%2Fpasswd",
        "{id}/tiles/0/..%2F..%2Ftileset.json",
    ],
)
def test_unknown_or_traversing_paths_are_404(client: TestClient, home: Path, path: str) -> None:
    build_id = json.loads((home / "3dtiles" / "buildings" / "current.json").read_text())["build_id"]
    r = client.get(f"{BASE}/" + path.format(id=build_id))
    assert r.status_code == 404
    assert b"root" not in r.content and b"build_id" not in r.content


def test_changed_buildings_are_rebuilt_after_the_write(clean_db: str, home: Path) -> None:
    """The stale tileset is served (marked) until the rebuild a write starts lands; the GET
    starts nothing (the scheduler is off here, so only the write path builds)."""
    with client_for(clean_db, home, build_watch="off") as client:
        before = client.get(f"{BASE}/tileset.json")
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("UPDATE buildings SET height_m = height_m + 1 WHERE id = 1")
        stale = client.get(f"{BASE}/tileset.json")
        deadline = time.monotonic() + 30  # until the change's notice reaches the version tracker
        while stale.headers.get("x-djmap-tileset-stale") != "true" and time.monotonic() < deadline:
            time.sleep(0.05)
            stale = client.get(f"{BASE}/tileset.json")
        assert stale.status_code == 200 and stale.headers["x-djmap-tileset-stale"] == "true"
        assert stale.headers["etag"] == before.headers["etag"], "the old build is served meanwhile"
        assert builds_status(client)["3dtiles"]["state"] == "stale"  # the GETs started no build
        wait_built(client, "3dtiles")  # the write path: notify_write, as an import does
        fresh = client.get(f"{BASE}/tileset.json")
        assert fresh.headers["x-djmap-tileset-stale"] == "false"
        assert fresh.headers["etag"] != before.headers["etag"]
        assert client.get(f"{BASE}/{contents(fresh.json())[0]}").status_code == 200
        assert client.get(f"{BASE}/{contents(before.json())[0]}").status_code == 200, (
            "previous build kept"
        )


def test_the_scheduler_rebuilds_after_a_write_elsewhere(clean_db: str, client: TestClient) -> None:
    """A write by another program (psql here) is heard (LISTEN/NOTIFY) and rebuilt unasked."""
    before = client.get(f"{BASE}/tileset.json").headers["etag"]
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE buildings SET height_m = height_m + 2 WHERE id = 2")
    wait_built(client, "3dtiles", write=False)
    fresh = client.get(f"{BASE}/tileset.json")
    assert fresh.headers["x-djmap-tileset-stale"] == "false" and fresh.headers["etag"] != before


def test_not_built_yet_is_404_and_the_cli_builds_it(clean_db: str, tmp_path: Path) -> None:
    insert_buildings(clean_db, *footprints(5, seed=5))
    with client_for(clean_db, tmp_path) as c:
        r = c.get(f"{BASE}/tileset.json")
        assert r.status_code == 404 and "djmap tiles 3d build" in r.json()["description"]
        assert builds_status(c)["3dtiles"]["state"] == "missing"  # the GET started no build
        build_buildings(clean_db, tmp_path, progress=False)  # what `djmap tiles 3d build` runs
        doc = c.get(f"{BASE}/tileset.json").json()
    assert doc["asset"]["extras"]["djmap"]["buildings"] == 5


def test_glb_build_is_served_as_gltf_binary(clean_db: str, home: Path) -> None:
    build_buildings(clean_db, home, fmt="glb", progress=False)
    with client_for(clean_db, home) as c:
        doc = c.get(f"{BASE}/tileset.json").json()
        assert doc["asset"]["version"] == "1.1"
        r = c.get(f"{BASE}/{contents(doc)[0]}")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    assert r.content[:4] == b"glTF"
