"""The OpenAPI document describes itself: one error shape, every status with its content type and
schema, and the error bodies on the wire are that shape (no database needed: the app is built,
never started)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

PROBLEM = "#/components/schemas/Problem"
METHODS = ("get", "put", "post", "patch", "delete")
# Statuses whose body is not a Problem, and why.
NOT_PROBLEM = {
    ("/api/health", "503"): "the health document itself, with status error",
    ("/api/panoramas/{panorama_id}/image", "416"): "Starlette's range refusal (text/plain)",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The document as served."""
    return TestClient(create_app(Settings())).get("/api/openapi.json").json()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The app without its lifespan (no pool: only answers given before the database is used)."""
    app = create_app(Settings())
    app.state.pool = None
    yield TestClient(app, raise_server_exceptions=False)


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_every_error_status_has_the_problem_shape(doc: dict[str, Any]) -> None:
    """Each 4xx/5xx of each operation is JSON of the one Problem schema; FastAPI's own 422
    validation shape is gone (validation is 400 Problem)."""
    assert set(doc["components"]["schemas"]["Problem"]["required"]) == {"code", "description"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, status) in NOT_PROBLEM:
                continue
            content = response.get("content", {})
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"]["$ref"] == PROBLEM, (path, status)


def test_statuses_the_machinery_can_answer_are_declared(doc: dict[str, Any]) -> None:
    """Parameters or a body can be invalid (400), a bearer token refused (401), a body too large
    (413): every operation that has them says so."""
    for path, method, op in _operations(doc):
        statuses = set(op["responses"])
        if op.get("parameters") or "requestBody" in op:
            assert "400" in statuses, (method, path)
        if op.get("security"):
            assert "401" in statuses, (method, path)
        if "requestBody" in op:
            assert "413" in statuses, (method, path)


def test_every_success_names_its_content(doc: dict[str, Any]) -> None:
    """Every 2xx has a content type and a schema: JSON a named model, bytes `format: binary`."""
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                continue
            if status == "204":  # No Content: never a body (RFC 9110 §15.3.5)
                assert not response.get("content"), (method, path, status)
                continue
            content = response.get("content")
            assert content, (method, path, status)
            for media, entry in content.items():
                schema = entry.get("schema", {})
                if "json" in media:
                    named = "$ref" in schema or "anyOf" in schema
                    assert named, (method, path, status, media, schema)
                else:
                    assert schema.get("format") == "binary", (method, path, status, media)


def test_optional_tokens_are_optional(doc: dict[str, Any]) -> None:
    """Routes that answer anonymously say the token is optional; those that need a role do not."""
    security = {(p, m): op.get("security") for p, m, op in _operations(doc)}
    assert {} in security[("/api/layers", "get")]
    assert {} in security[("/api/collections/{collection_id}/items", "get")]
    assert {} not in security[("/api/imports", "post")]
    assert {} not in security[("/api/panoramas", "post")]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/api/auth/me", {"Authorization": "Bearer nope"}, 401, "Unauthorized"),
        ("GET", "/api/no-such-route", {}, 404, "NotFound"),
        ("DELETE", "/api/conformance", {}, 405, "MethodNotAllowed"),
        ("GET", "/api/nearest?lon=500&lat=0", {}, 400, "InvalidParameterValue"),
    ],
)
def test_error_bodies_are_problems(
    client: TestClient, method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    """HTTPExceptions (the 401 challenge, the router's 404/405) and validation errors answer the
    Problem shape at the top level (401 used to nest it under `detail`), headers kept."""
    r = client.request(method, path, headers=headers)
    body = r.json()
    assert r.status_code == status and body["code"] == code, body
    assert isinstance(body["description"], str) and body["description"]
    assert "detail" not in body
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    if status == 405:
        assert "GET" in r.headers["allow"]
    if status == 400:
        assert body["errors"][0]["loc"] == ["query", "lon"] and "lon" in body["description"]
