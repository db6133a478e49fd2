"""A new layer is one module plus its SQL: registered at run time, it has tiles, TileJSON, OGC
items, scope and a legend with no other change (tests/extra_layers/service_centres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from extra_layers import service_centres
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees

from layers import catalog

KEY = "new-layer-key-" + "n" * 32
TMS = morecantile.tms.get("WebMercatorQuad")
LAYER = service_centres.LAYER
Data = dict[str, dict[str, Any]]


@pytest.fixture
def data(clean_db: str) -> Data:
    return two_subtrees(clean_db)


@pytest.fixture
def client(clean_db: str, data: Data) -> Iterator[TestClient]:
    add_users(clean_db)
    with catalog.registered(LAYER):
        yield from api_client(clean_db, KEY)
    assert LAYER.id not in catalog.LAYERS


def centres(url: str) -> dict[int, tuple[str, float, float]]:
    """Every service centre in the database: id → (name, lon, lat)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, name, ST_X(geom), ST_Y(geom) FROM service_points WHERE kind = '党群服务中心'"
        ).fetchall()
    return {int(r[0]): (str(r[1]), float(r[2]), float(r[3])) for r in rows}


def tile_features(client: TestClient, lon: float, lat: float, headers: dict[str, str]) -> list:
    """The decoded features of the z16 tile holding a point."""
    t = TMS.tile(lon, lat, 16)
    r = client.get(f"/api/tiles/{LAYER.id}/16/{t.x}/{t.y}.mvt", headers=headers)
    assert r.status_code == 200, r.text
    if not r.content:
        return []
    decoded = mapbox_vector_tile.decode(r.content)
    assert set(decoded) == {LAYER.id}
    return list(decoded[LAYER.id]["features"])


def test_a_registered_layer_is_served_everywhere(
    client: TestClient, clean_db: str, data: Data
) -> None:
    every = centres(clean_db)
    assert set(every) == {data["A"]["service_point"], data["B"]["service_point"]}
    listed = {x["id"]: x for x in client.get("/api/layers").json()["layers"]}
    assert listed[LAYER.id]["legend"] == [
        {"color": list(service_centres.COLOR), "zh": "服务中心", "en": "Service centre"}
    ]
    tj = client.get(f"/api/tiles/{LAYER.id}/tilejson.json").json()
    assert tj["vector_layers"][0]["id"] == LAYER.id
    assert set(tj["vector_layers"][0]["fields"]) >= {"id", "name", "org_id"}
    west, south, east, north = tj["bounds"]
    assert all(west <= lon <= east and south <= lat <= north for _, lon, lat in every.values())
    items = client.get(f"/api/collections/{LAYER.id}/items").json()["features"]
    assert {f["id"]: f["properties"]["name"] for f in items} == {k: v[0] for k, v in every.items()}
    assert all("phone" not in f["properties"] for f in items)  # a leader's field
    for fid, (name, lon, lat) in every.items():
        found = tile_features(client, lon, lat, {})
        assert [(f["properties"]["id"], f["properties"]["name"]) for f in found] == [(fid, name)]
        assert "phone" not in found[0]["properties"]


def test_a_registered_layer_is_scoped_like_the_others(
    client: TestClient, clean_db: str, data: Data
) -> None:
    a, b = data["A"]["service_point"], data["B"]["service_point"]
    every = centres(clean_db)
    leader_a = bearer(client, "leader_a")
    r = client.get(f"/api/collections/{LAYER.id}/items", headers=leader_a)
    assert [(f["id"], f["properties"]["phone"]) for f in r.json()["features"]] == [
        (a, "phone-secret")
    ]
    _, lon, lat = every[a]
    assert [f["properties"]["phone"] for f in tile_features(client, lon, lat, leader_a)] == [
        "phone-secret"
    ]
    _, lon, lat = every[b]
    assert tile_features(client, lon, lat, leader_a) == []  # another subtree's centre
    assert client.get(f"/api/collections/{LAYER.id}/items/{b}", headers=leader_a).status_code == 404
    org_b = client.get(
        f"/api/collections/{LAYER.id}/items",
        params={"org": data["B"]["committee"]},
        headers=bearer(client, "leader_b"),
    )
    assert [f["id"] for f in org_b.json()["features"]] == [b]


def test_a_registered_layer_is_on_the_map_page_with_its_legend(client: TestClient) -> None:
    deck = client.get("/web/deck/leader.json").json()
    entry = next(x for x in deck["djmap"]["layers"] if x["id"] == LAYER.id)
    assert entry["legend"] == [{"color": list(service_centres.COLOR[:3]), "label": "服务中心"}]
    drawn = next(x for x in deck["layers"] if x["id"] == LAYER.id)
    assert drawn["data"] == f"/api/tiles/{LAYER.id}/tilejson.json"
    ids = [x["id"] for x in deck["layers"]]
    assert ids.index(LAYER.id) > ids.index("activities")  # stacked by its style, on top


def test_a_malformed_or_taken_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        catalog.register(catalog.get("roads"))
    bad = replace(LAYER, id="bad", audience="nobody")
    with pytest.raises(ValueError, match="malformed"):
        catalog.register(bad)
    assert "bad" not in catalog.LAYERS
