"""`/api/docs` opens with an introduction in the page language (zh-CN first, `?lang=en`): what the
API follows, how to log in with the OAuth2 password flow, where to start; the OpenAPI document
declares that flow so Swagger UI's Authorize button logs in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from privacy import api_client
from test_auth_attacks import KEY


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    yield from api_client(clean_db, KEY)


def test_introduction_in_each_language(client: TestClient) -> None:
    zh = client.get("/api/docs")
    en = client.get("/api/docs?lang=en")
    assert zh.status_code == en.status_code == 200
    assert "党建地图接口" in zh.text and "OAuth2 密码模式" in zh.text
    assert "The djmap API" in en.text and "OAuth2 password flow" in en.text
    assert "党建地图接口" not in en.text
    for page in (zh.text, en.text):
        assert 'href="/api/collections"' in page and "/api/openapi.json" in page
        assert 'id="swagger"' in page


def test_the_document_declares_the_password_flow(client: TestClient) -> None:
    schemes = client.get("/api/openapi.json").json()["components"]["securitySchemes"]
    flows = [s["flows"]["password"] for s in schemes.values() if s.get("type") == "oauth2"]
    assert flows and flows[0]["tokenUrl"] == "/api/auth/token"
