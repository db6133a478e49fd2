"""Derived builds in tests: start them as a write does and wait for `GET /api/builds` to show
them built for the current data (a GET never builds; tiles/builds.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient

from api.deps import get_principal
from geo.scope import Principal

WAIT_S = 180.0  # a bound on the wait, not a timing assertion: a build that never lands fails


def builds_status(client: TestClient) -> dict[str, dict[str, Any]]:
    """`GET /api/builds` as an admin, by build name."""
    app: Any = client.app
    saved = app.dependency_overrides.get(get_principal)
    app.dependency_overrides[get_principal] = lambda: Principal(role="admin")
    try:
        r = client.get("/api/builds")
    finally:
        if saved is None:
            app.dependency_overrides.pop(get_principal, None)
        else:
            app.dependency_overrides[get_principal] = saved
    assert r.status_code == 200, r.text
    return {b["name"]: b for b in r.json()["builds"]}


def wait_built(client: TestClient, *names: str, write: bool = True) -> dict[str, dict[str, Any]]:
    """Announce a write (`notify_write`, what an import does) unless `write` is False, then wait
    until every named build is ready for the current data; the builds' statuses."""
    app: Any = client.app
    if write:
        client.portal.call(_notify, app)  # type: ignore[union-attr]
    status: dict[str, dict[str, Any]] = {}
    for _ in range(int(WAIT_S / 0.05)):
        status = builds_status(client)
        if all(_ready(status[n]) for n in names):
            return status
        failed = [status[n]["error"] for n in names if status[n]["state"] == "failed"]
        assert not failed, failed
        client.portal.call(asyncio.sleep, 0.05)  # type: ignore[union-attr]
    raise AssertionError(f"not built: {[status.get(n) for n in names]}")


def wait_wanted(client: TestClient, name: str, before: Any) -> None:
    """Wait until the build `name` wants another data version than `before` (the scheduler
    heard of a write made outside the app)."""
    for _ in range(int(WAIT_S / 0.05)):
        if builds_status(client)[name]["wanted_version"] != before:
            return
        client.portal.call(asyncio.sleep, 0.05)  # type: ignore[union-attr]
    raise AssertionError(f"{name} never heard of the write")


async def _notify(app: Any) -> None:
    app.state.builds.notify_write()


def _ready(item: dict[str, Any]) -> bool:
    return bool(item["state"] == "ready" and item["built_version"] == item["wanted_version"])
