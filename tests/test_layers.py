"""The layer catalog: its invariants and `GET /api/layers` per audience."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import ApiSettings, Settings
from geo import compose
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal
from geo.settings import DatabaseSettings
from layers import catalog
from layers import filters as lf
from layers.catalog import AUDIENCES, FIELD_TYPES, FILTER_TYPES, Field, Filter, Layer

REQUIRED = {
    "boundary",
    "organisations",
    "service_points",
    "activities",
    "buildings",
    "roads",
    "member_heat",
    "activity_heat",
}


def test_catalog_has_every_required_layer_and_sane_entries() -> None:
    assert set(catalog.LAYERS) >= REQUIRED
    for layer in catalog.LAYERS.values():
        assert layer.audience in AUDIENCES and layer.title_zh and layer.title_en
        assert (layer.table is None) != (layer.source_sql is None)
        assert 0 <= layer.minzoom <= layer.maxzoom <= 24
        assert layer.version_tables and layer.deck["type"]
        names = [f.name for f in layer.fields]
        assert len(names) == len(set(names))
        for f in layer.fields:
            assert f.type in FIELD_TYPES and f.audience in AUDIENCES
        for flt in layer.filters:
            assert flt.type in FILTER_TYPES and "{value}" in flt.sql and flt.description
            assert (flt.type == "enum") == bool(flt.choices)


def test_audiences_are_nested_and_members_stay_private() -> None:
    seen: set[str] = set()
    for audience in AUDIENCES:
        ids = {layer.id for layer in catalog.visible(audience)}
        assert seen <= ids
        seen = ids
    for audience in AUDIENCES[:-1]:
        assert "members" not in {layer.id for layer in catalog.visible(audience)}
    collections = {layer.id for layer in catalog.collections("admin")}
    assert not {"members", "member_heat", "activity_heat"} & collections
    assert {"organisations", "service_points", "activities", "buildings", "roads"} <= collections
    assert catalog.get("member_heat").filters == ()  # filtered heat could be differenced
    fields = {f.name for f in catalog.fields_for(catalog.get("service_points"), "public")}
    assert "phone" not in fields
    assert "phone" in {f.name for f in catalog.fields_for(catalog.get("service_points"), "member")}


# A layer whose `secret` filter reads a leader-level field (no catalog layer has one today).
SECRET = Layer(
    id="probe",
    title_zh="探针",
    title_en="Probe",
    table="service_points",
    geom_column="geom",
    geom_type="Point",
    fields=(Field("id", "t.id", "integer"), Field("secret", "t.org_id", "integer", "leader")),
    filters=(
        Filter("secret", "int", "t.org_id = {value}", "a leader-level field", field="secret"),
        Filter("id", "int", "t.id = {value}", "id", field="id"),
    ),
    version_tables=("service_points",),
)


def test_a_filter_reads_like_its_field() -> None:
    """Filtering is reading: an audience may not filter on a field it may not see, and rows a
    caller sees with public fields only never match a filter on a non-public field."""
    with pytest.raises(InvalidInput, match="public audience may not see"):
        lf.parse(SECRET, {"secret": "7"}, audience="public")
    with pytest.raises(InvalidInput, match="member audience may not see"):
        lf.parse(SECRET, {"secret": "7"}, audience="member")
    bound = lf.parse(SECRET, {"secret": "7", "id": "3"}, audience="leader")
    assert [b.public for b in bound] == [True, False]  # sorted by name: id, secret
    assert [f.name for f in catalog.filters_for(SECRET, "public")] == ["id"]
    assert [f.name for f in catalog.filters_for(SECRET, "leader")] == ["secret", "id"]
    own = compose.sql("t.org_id = {o}", o=compose.value(9))
    masked = compose.sql("SELECT 1 WHERE {own}{f}", own=own, f=lf.where(bound, own)).compile()
    assert masked.text == (
        "SELECT 1 WHERE t.org_id = $1 AND (t.id = $2) AND ((t.org_id = $1) AND (t.org_id = $3))"
    )
    assert compose.sql("{f}", f=lf.where(bound, own)).args(start=5) == [3, 9, 7]
    plain = lf.where(bound).compile(start=5)
    assert plain.text == " AND (t.id = $5) AND (t.org_id = $6)"
    for layer in catalog.LAYERS.values():  # every catalog filter names a field of its layer
        for flt in layer.filters:
            assert catalog.filter_field(layer, flt).name == flt.field


def test_get_unknown_layer_raises_not_found() -> None:
    with pytest.raises(NotFound):
        catalog.get("nope")


@pytest.mark.parametrize("role", ["public", "member", "leader", "planner", "admin"])
def test_api_layers_lists_what_the_audience_may_see(
    clean_db: str, tmp_path: Path, role: str
) -> None:
    settings = Settings(DatabaseSettings(database_url=clean_db, home=tmp_path), ApiSettings())
    app = create_app(settings)
    app.dependency_overrides[get_principal] = lambda: Principal(role=role)
    with TestClient(app) as client:
        body = client.get("/api/layers").json()
    assert body["audience"] == role
    ids = [layer["id"] for layer in body["layers"]]
    assert ids == [layer.id for layer in catalog.visible(role)]
    for layer in body["layers"]:
        assert "?v=" in layer["tiles"] and layer["version"] in layer["tiles"]
        assert layer["deck"]["type"]
        expected = {f.name for f in catalog.fields_for(catalog.get(layer["id"]), role)}
        assert {f["name"] for f in layer["fields"]} == expected
