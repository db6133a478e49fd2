"""The whole app behind pgbouncer in transaction mode (issue 15 §2, docs/SCALE.md): every pooled
connection goes through the bouncer with DJMAP_STATEMENT_CACHE=0, and the session connections
(LISTEN, the live worker's lock, the builds) go straight to PostgreSQL by DJMAP_LISTEN_URL. A
write through the API reaches an open event stream and the next tile, and the bouncer did carry
the app's request pools and none of the session connections."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from live_events import Reader, Server, get_json, user_token
from test_tiles_mvt import LAT, LON, TMS, decode, seed_points

from geo.bouncer import Bouncer
from geo.cluster import Cluster, free_port
from geo.live import stream, worker
from tiles import versions

SESSIONS = (stream.APP_NAME, versions.APP_NAME, worker.APP_NAME)
ACTIVITY_SQL = "SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name <> ''"

TILE = TMS.tile(LON, LAT, 12)


@pytest.fixture
def bouncer(cluster: Cluster) -> Iterator[Bouncer]:
    """pgbouncer (transaction mode) in front of the test cluster."""
    bouncer = Bouncer(cluster, free_port())
    bouncer.start()
    yield bouncer
    bouncer.stop()


def _post(url: str, token: str, body: dict[str, object]) -> dict[str, object]:
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=head, method="POST")
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.status == 201
        return dict(json.load(res))


def _bouncer_clients(bouncer: Bouncer) -> str:
    """pgbouncer's SHOW CLIENTS (its admin console speaks the simple protocol only: psql)."""
    admin = bouncer.url().rsplit("/", 1)[0] + "/pgbouncer"
    res = subprocess.run(
        ["psql", admin, "-At", "-c", "SHOW CLIENTS"], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def _names(base: str) -> set[object]:
    """The service points' names in the tile at the version the tile URLs carry now."""
    template = get_json(f"{base}/api/tiles/service_points/tilejson.json")["tiles"][0]
    url = template.format(z=TILE.z, x=TILE.x, y=TILE.y)
    with urllib.request.urlopen(url, timeout=30) as res:
        body = res.read()
    return {f["properties"].get("name") for f in decode(body).get("service_points", [])}


def test_a_write_behind_pgbouncer_reaches_the_stream_and_the_tile(
    clean_db: str, bouncer: Bouncer, tmp_path: Path
):
    seed_points(clean_db, 5)
    server = Server(
        bouncer.url(), tmp_path, DJMAP_LISTEN_URL=clean_db, DJMAP_STATEMENT_CACHE="0"
    ).start()  # started: /api/events/latest answered, so the hub LISTENs
    try:
        base = server.base
        token = user_token(base, clean_db, "admin")
        assert "新站" not in _names(base)
        reader = Reader(base)
        assert reader.status == 200
        point = {"type": "Point", "coordinates": [LON, LAT]}
        props = {"服务点编码": "spb", "名称": "新站", "类型": "党员活动室", "所属组织": "o3"}
        body = {"type": "Feature", "geometry": point, "properties": props}
        _post(f"{base}/api/collections/service_points/items", token, body)

        def served(e: dict[str, Any]) -> bool:
            """A service points data.changed whose version the TileJSON serves now (an earlier
            announcement, of the seeded rows, may come first)."""
            body = e["body"]
            if body["type"] != "data.changed" or body["data"]["layer"] != "service_points":
                return False
            tilejson = get_json(f"{base}/api/tiles/service_points/tilejson.json")
            return f"v={body['data']['version']}" in tilejson["tiles"][0]

        reader.events(served)
        reader.close()
        assert "新站" in _names(base)
        clients = _bouncer_clients(bouncer)  # the request pools are its clients …
        assert clients.count(bouncer.primary.dbname) >= 2, clients
        assert not [name for name in SESSIONS if name in clients], clients  # … not the sessions
        with psycopg.connect(clean_db) as conn:
            direct = {row[0] for row in conn.execute(ACTIVITY_SQL)}
        assert {stream.APP_NAME, versions.APP_NAME} <= direct, direct
    finally:
        server.stop()
