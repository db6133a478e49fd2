"""Vector tiles scoped like OGC features (geo.scope): two organisation trees × roles × zooms."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, all_homes, assert_no_member_points, bearer, two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

KEY = "tiles-scope-key-" + "t" * 32
TMS = morecantile.tms.get("WebMercatorQuad")
BBOX = (116.29, 39.89, 116.52, 39.97)  # both trees of privacy.two_subtrees
HIGH, LOW = 14, 4  # features at HIGH, one clustered tile at LOW
Data = dict[str, dict[str, Any]]


@pytest.fixture
def data(clean_db: str) -> Data:
    return two_subtrees(clean_db)


@pytest.fixture
def client(clean_db: str, data: Data, tmp_path: Path) -> Iterator[TestClient]:
    add_users(clean_db)
    settings = Settings(
        db=DatabaseSettings(database_url=clean_db, home=tmp_path),
        api=ApiSettings(secret_key=KEY, tile_cache="on"),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def headers(client: TestClient, user: str | None) -> dict[str, str]:
    return bearer(client, user) if user else {}


def tiled_bodies(
    client: TestClient, hdr: dict[str, str], layer: str, zoom: int
) -> list[tuple[morecantile.Tile, bytes]]:
    out = []
    for t in TMS.tiles(*BBOX, [zoom]):
        r = client.get(f"/api/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt", headers=hdr)
        assert r.status_code == 200, r.text
        out.append((t, r.content))
    return out


def bodies(client: TestClient, hdr: dict[str, str], layer: str, zoom: int) -> list[bytes]:
    return [body for _, body in tiled_bodies(client, hdr, layer, zoom)]


def to_lonlat(tile: morecantile.Tile) -> Callable[[float, float], tuple[float, float]]:
    """Tile units (y up, 4096 per tile) to degrees, so member homes can be looked for."""
    m = TMS.xy_bounds(tile)

    def transform(x: float, y: float) -> tuple[float, float]:
        mx = m.left + x / 4096 * (m.right - m.left)
        my = m.bottom + y / 4096 * (m.top - m.bottom)
        lat = math.degrees(2 * math.atan(math.exp(my / 6378137.0)) - math.pi / 2)
        return round(math.degrees(mx / 6378137.0), 5), round(lat, 5)

    return transform


def features(client: TestClient, hdr: dict[str, str], layer: str, zoom: int) -> list[dict]:
    found: list[dict] = []
    for body in bodies(client, hdr, layer, zoom):
        if body:
            found += mapbox_vector_tile.decode(body).get(layer, {}).get("features", [])
    return found


def by_id(feats: list[dict]) -> dict[int, dict]:
    assert all(not f["properties"].get("cluster") for f in feats)
    return {int(f["id"]): f["properties"] for f in feats}


def clustered(feats: list[dict]) -> int:
    return sum(
        int(f["properties"]["count"]) if f["properties"].get("cluster") else 1 for f in feats
    )


def orgs_of(data: Data, *trees: str) -> set[int]:
    return {o for t in trees for o in data[t]["orgs"]}


def acts_of(data: Data, *trees: str) -> set[int]:
    return {a for t in trees for a in data[t]["activities"]}


def test_leader_sees_only_own_subtree(client: TestClient, data: Data) -> None:
    hdr = headers(client, "leader_a")
    orgs = by_id(features(client, hdr, "organisations", HIGH))
    assert set(orgs) == orgs_of(data, "A")
    assert all(p["founded"] == "2001-07-01" for p in orgs.values())
    acts = by_id(features(client, hdr, "activities", HIGH))
    assert set(acts) == acts_of(data, "A")
    assert {p["organiser_id"] for p in acts.values()} <= orgs_of(data, "A")
    assert clustered(features(client, hdr, "organisations", LOW)) == 3
    assert clustered(features(client, hdr, "activities", LOW)) == 3


def test_service_points_are_public_places(client: TestClient, data: Data) -> None:
    sps = by_id(features(client, headers(client, "leader_a"), "service_points", HIGH))
    own, other = data["A"]["service_point"], data["B"]["service_point"]
    assert set(sps) == {own, other}
    assert sps[own]["org_id"] == data["A"]["committee"] and sps[own]["phone"] == "phone-secret"
    assert "phone" not in sps[other] and sps[other]["org_id"] == data["B"]["committee"]
    assert sps[other]["name"] == "B 服务中心"


def test_planner_bound_to_general_branch(client: TestClient, data: Data) -> None:
    hdr = headers(client, "planner_b")
    orgs = by_id(features(client, hdr, "organisations", HIGH))
    assert set(orgs) == {data["B"]["general"], data["B"]["branch"]}
    assert set(by_id(features(client, hdr, "activities", HIGH))) == set(data["B"]["activities"][1:])
    assert clustered(features(client, hdr, "organisations", LOW)) == 2


def test_member_sees_public_rows_and_own_chain_fields(client: TestClient, data: Data) -> None:
    hdr = headers(client, "member_a")
    orgs = by_id(features(client, hdr, "organisations", HIGH))
    assert set(orgs) == orgs_of(data, "A", "B")
    for oid, props in orgs.items():
        assert "founded" not in props and "building_id" not in props
        assert ("contact" in props) == (oid in orgs_of(data, "A"))
    acts = by_id(features(client, hdr, "activities", HIGH))
    assert set(acts) == acts_of(data, "A", "B")
    for aid, props in acts.items():
        assert props["organiser_id"] in orgs_of(data, "A", "B")  # organisers are public
        assert ("description" in props) == (aid in acts_of(data, "A"))
    assert clustered(features(client, hdr, "organisations", LOW)) == 6


def test_public_sees_public_fields_only(client: TestClient, data: Data) -> None:
    orgs = by_id(features(client, {}, "organisations", HIGH))
    assert set(orgs) == orgs_of(data, "A", "B")
    assert all(not {"contact", "founded", "building_id"} & set(p) for p in orgs.values())
    acts = by_id(features(client, {}, "activities", HIGH))
    assert all(not {"description", "capacity"} & set(p) for p in acts.values())
    assert all("organiser_id" in p for p in acts.values())


def test_admin_sees_everything(client: TestClient, data: Data) -> None:
    hdr = headers(client, "admin")
    orgs = by_id(features(client, hdr, "organisations", HIGH))
    assert set(orgs) == orgs_of(data, "A", "B")
    assert all("founded" in p and "contact" in p for p in orgs.values())
    assert clustered(features(client, hdr, "activities", LOW)) == 6
    sp = (116.301, 39.901)  # A's service point: the point check must be able to see a point
    bodies_ = [(t, b) for t, b in tiled_bodies(client, hdr, "service_points", HIGH) if b]
    with pytest.raises(AssertionError):
        for t, b in bodies_:
            opts = {"transformer": to_lonlat(t)}
            assert_no_member_points(mapbox_vector_tile.decode(b, default_options=opts), [sp])


def test_cached_tile_of_one_leader_is_never_served_to_another(
    client: TestClient, data: Data
) -> None:
    a, b = headers(client, "leader_a"), headers(client, "leader_b")
    for zoom in (HIGH, LOW):
        first_a = features(client, a, "organisations", zoom)  # fills the cache for A's scope
        then_b = features(client, b, "organisations", zoom)
        again_a = features(client, a, "organisations", zoom)  # served from the cache
        assert first_a == again_a
        if zoom == HIGH:
            assert set(by_id(then_b)) == orgs_of(data, "B")
        assert clustered(then_b) == 3
    pub = by_id(features(client, {}, "organisations", HIGH))  # public after the leaders
    assert all("founded" not in p for p in pub.values())


@pytest.mark.parametrize("user", [None, "member_a", "leader_a", "planner_b", "steward_a"])
def test_no_member_points_below_admin(client: TestClient, data: Data, user: str | None) -> None:
    hdr = headers(client, user)
    homes = all_homes(data)
    layers = ["organisations", "service_points", "activities", "activity_heat"]
    if user not in (None, "member_a"):
        layers.append("member_heat")
    for layer in layers:
        for zoom in (HIGH, 12, LOW):
            for tile, body in tiled_bodies(client, hdr, layer, zoom):
                if body:
                    opts = {"transformer": to_lonlat(tile)}
                    assert_no_member_points(mapbox_vector_tile.decode(body), homes)
                    assert_no_member_points(
                        mapbox_vector_tile.decode(body, default_options=opts), homes
                    )
    t = TMS.tile(116.31, 39.91, HIGH)
    r = client.get(f"/api/tiles/members/{t.z}/{t.x}/{t.y}.mvt", headers=hdr)
    assert r.status_code in (401, 403)
