"""The OpenAPI document, finished: the error shape named once and the statuses every route owes
to the app's own machinery (request validation, bearer tokens, the body cap) declared on it.

FastAPI documents request validation as 422 with its own body; djmap answers 400 with `Problem`
(api/errors.py), so that entry is replaced. A route that reads a bearer token may answer 401, and
a route with a body 413 (DJMAP_MAX_JSON_KB, or an upload's own cap).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.models.errors import Problem, problem

VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _components(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    return schemas


def _add_problem(doc: dict[str, Any]) -> None:
    """Put Problem (and the models it uses) into components/schemas."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = _components(doc)
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema


def _finish_operation(op: dict[str, Any]) -> None:
    """Validation is 400, a token may be refused (401), a body may be too large (413)."""
    responses = op.setdefault("responses", {})
    if "/HTTPValidationError'" in str(responses.get("422")):
        del responses["422"]
    if op.get("parameters") or "requestBody" in op:
        responses.setdefault("400", problem(400))
    if op.get("security"):
        responses.setdefault("401", problem(401))
    if "requestBody" in op:
        responses.setdefault("413", problem(413))
    op["responses"] = dict(sorted(responses.items()))


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with the error shape and the implied statuses declared (in place)."""
    _add_problem(doc)
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                _finish_operation(op)
    text = str(doc["paths"])
    for name in VALIDATION_SCHEMAS:
        if f"/{name}'" not in text:
            _components(doc).pop(name, None)
    return doc


def install(app: FastAPI) -> None:
    """Serve the finished document at the app's openapi_url (built once, on first request)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
