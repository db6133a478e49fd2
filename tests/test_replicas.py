"""Reads on a streaming replica (issue 15 §2): a primary and a hot standby made with
pg_basebackup on loopback; tiles, features and nearest read from the replica, a read that needs
newer data than the replica replayed is served by the primary (never stale), and a replica that
goes away, or whose connections are cut, fails no request.

The routing proof is a replica-only state: with replay paused, a row inserted on the primary with
triggers off (`session_replication_role = replica`: no data version moves) is on the primary and
not on the replica, so an answer without it was read on the replica.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from test_tiles_mvt import LAT, LON, TMS, decode, seed_points

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.cluster_replica import ReplicaCluster
from geo.db.replicas import APP_NAME
from geo.settings import DatabaseSettings

TILE = TMS.tile(LON, LAT, 12)
TILE_PATH = f"/api/tiles/service_points/12/{TILE.x}/{TILE.y}.mvt"
ITEMS = "/api/collections/service_points/items?limit=1000"
NEAREST = f"/api/nearest?lon={LON}&lat={LAT}&target=service_points&k=1"


@dataclass
class Pair:
    primary: Cluster
    replica: ReplicaCluster
    home: Path


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A migrated primary with 50 service points and its streaming replica."""
    home = Path(tempfile.mkdtemp(prefix="djmap-replicas-"))
    home.chmod(0o755)
    primary = Cluster(home=home / "primary", port=free_port(), dbname="djmap_replicas")
    primary.start()
    replica = ReplicaCluster(primary, home / "replica", free_port())
    try:
        geodb.migrate(primary.url)
        seed_points(primary.url, 50)
        replica.start()
        yield Pair(primary, replica, home)
    finally:
        replica.destroy()
        primary.destroy()


def make_client(pair: Pair, **db: Any) -> TestClient:
    settings = Settings(
        DatabaseSettings(
            database_url=pair.primary.url,
            home=pair.home / "app",
            replica_urls=pair.replica.url,
            replica_check_s=0.1,
            **db,
        ),
        ApiSettings(tile_cache="off"),
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(pair: Pair) -> Iterator[TestClient]:
    with make_client(pair, replica_max_lag_s=300) as c:
        wait_state(c, "ok")
        yield c
    execute(pair.replica.url, "SELECT pg_wal_replay_resume()")


def execute(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args or None)
        return cur.fetchall() if cur.description else []


def replica_health(client: TestClient) -> dict[str, Any]:
    body = client.get("/api/health").json()
    assert len(body["replicas"]) == 1
    return body["replicas"][0]  # type: ignore[no-any-return]


def wait_state(client: TestClient, state: str, seconds: float = 30.0) -> dict[str, Any]:
    """Poll /api/health until the replica reaches `state` (a wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        found = replica_health(client)
        if found["state"] == state or time.monotonic() > deadline:
            assert found["state"] == state, found
            return found
        time.sleep(0.05)


def hidden_insert(url: str, name: str) -> None:
    """A service point on the primary that moves no data version (triggers off)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO service_points (code, name, kind, org_id, geom) "
            "SELECT %s, %s, kind, org_id, ST_SetSRID(ST_MakePoint(%s, %s), 4326) "
            "FROM service_points LIMIT 1",
            (name, name, LON, LAT),
        )


def names(client: TestClient) -> set[str]:
    r = client.get(ITEMS)
    assert r.status_code == 200, r.text
    return {f["properties"]["name"] for f in r.json()["features"]}


def tile_names(client: TestClient, query: str = "") -> set[str]:
    r = client.get(TILE_PATH + query)
    assert r.status_code == 200, r.text
    return {str(f["properties"].get("name")) for f in decode(r.content).get("service_points", [])}


def settled(client: TestClient, seconds: float = 120.0) -> None:
    """Wait until no derived build is queued or running and the replica has replayed the WAL of
    the last one (its floor): a build that commits after the pause would send reads to the
    primary, as it must (a wait, not a timing assertion)."""
    replicas = client.app.state.replicas  # type: ignore[attr-defined]
    builds = client.app.state.builds  # type: ignore[attr-defined]
    deadline = time.monotonic() + seconds
    while True:
        # quiet, not just "none building": the scheduler's first pass reads each product's last
        # build one by one (each read raises the floor) before it starts any build
        quiet = builds.quiet()
        if quiet and all(r.replayed >= replicas.floor for r in replicas.replicas):
            return
        assert time.monotonic() < deadline, (builds.summary(), replicas.floor)
        time.sleep(0.2)


def why(client: TestClient) -> dict[str, Any]:
    """What routing saw: the replica's state, its position against the floor, the builds."""
    replicas = client.app.state.replicas  # type: ignore[attr-defined]
    r = replicas.replicas[0]
    return {
        "health": replica_health(client),
        "floor": replicas.floor,
        "replayed": r.replayed,
        "fallbacks": replicas.fallbacks,
        "builds": client.app.state.builds.summary(),  # type: ignore[attr-defined]
        "replica_versions": r.versions,
        "primary_versions": dict(
            execute(
                client.app.state.settings.db.database_url,
                "SELECT table_name, version FROM data_versions",
            )  # type: ignore[attr-defined]
        ),
    }


def paused(pair: Pair, client: TestClient | None = None) -> None:
    if client is not None:
        settled(client)
    execute(pair.replica.url, "SELECT pg_wal_replay_pause()")
    while execute(pair.replica.url, "SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
        time.sleep(0.01)


def test_reads_go_to_the_replica(pair: Pair, client: TestClient) -> None:
    paused(pair, client)
    hidden_insert(pair.primary.url, "only-on-primary")
    assert execute(pair.primary.url, "SELECT 1 FROM service_points WHERE name = 'only-on-primary'")
    before = replica_health(client)["reads"]
    assert "only-on-primary" not in names(client), str(why(client))  # features: read on the replica
    assert "only-on-primary" not in tile_names(client)  # a tile rendered on the replica
    near = client.get(NEAREST).json()["results"][0]
    assert near["name"] != "only-on-primary"  # nearest: it lies exactly at the query point
    assert replica_health(client)["reads"] >= before + 3
    apps = execute(pair.replica.url, "SELECT application_name FROM pg_stat_activity")
    assert (APP_NAME,) in apps  # the reads' pool is connected to the replica


def test_versioned_reads_are_never_stale(pair: Pair, client: TestClient) -> None:
    """With replay paused, a committed write is read back at once: the replica is behind on
    data_versions, the read waits up to 200 ms, then the primary answers."""
    paused(pair)
    fallbacks = client.app.state.replicas.fallbacks  # type: ignore[attr-defined]
    execute(pair.primary.url, "UPDATE service_points SET name = 'renamed' WHERE id = 1")
    time.sleep(0.06)  # the writer's settle wait (tiles/versions.py SETTLE_S)
    assert "renamed" in names(client)
    v = client.get("/api/tiles/service_points/tilejson.json").json()["tiles"][0].split("?v=")[1]
    assert "renamed" in tile_names(client, f"?v={v}")
    assert client.app.state.replicas.fallbacks > fallbacks  # type: ignore[attr-defined]
    execute(pair.replica.url, "SELECT pg_wal_replay_resume()")
    hidden_insert(pair.primary.url, "after-resume")  # replayed now, so no fallback is needed
    deadline = time.monotonic() + 20
    while "after-resume" not in names(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    # back on the replica: reads go to it again (a derived build's version bump may still be
    # replaying for a moment, and a read then goes to the primary: read until both have come)
    before = replica_health(client)["reads"]
    deadline = time.monotonic() + 20
    while True:
        assert "renamed" in names(client) and "renamed" in tile_names(client)
        if replica_health(client)["reads"] >= before + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert replica_health(client)["reads"] >= before + 2


def test_a_lagging_replica_leaves_and_rejoins(pair: Pair) -> None:
    with make_client(pair, replica_max_lag_s=0.3) as c:
        wait_state(c, "ok")
        paused(pair)
        execute(pair.primary.url, "UPDATE service_points SET phone = 'lag' WHERE id = 2")
        found = wait_state(c, "lagging")
        assert not found["in_rotation"] and found["replay_paused"] and found["lag_s"] > 0.3
        assert names(c)  # reads go on, on the primary
        execute(pair.replica.url, "SELECT pg_wal_replay_resume()")
        assert wait_state(c, "ok")["in_rotation"]


def hammer(client: TestClient, stop: threading.Event, codes: list[int]) -> None:
    while not stop.is_set():
        for path in (ITEMS, TILE_PATH, NEAREST):
            codes.append(client.get(path).status_code)


def test_a_replica_going_away_fails_no_request(pair: Pair, client: TestClient) -> None:
    stop, codes = threading.Event(), []  # type: ignore[var-annotated]
    workers = [threading.Thread(target=hammer, args=(client, stop, codes)) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.3)
        cut = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
        execute(pair.replica.url, cut, APP_NAME)  # connections cut under the reads
        time.sleep(0.3)
        pair.replica.stop()  # fast shutdown: reads in flight are cut too
        down = wait_state(client, "down")
        assert not down["in_rotation"] and down["error"]
        time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join()
        pair.replica.start()
    assert codes and set(codes) == {200}, sorted(set(codes))
    assert wait_state(client, "ok")["in_rotation"]  # back by itself
    before = replica_health(client)["reads"]
    names(client)
    assert replica_health(client)["reads"] > before


def test_the_floor_covers_a_builds_asynchronous_commit(db_url: str) -> None:
    """A build commits with synchronous_commit = off (the server's setting); the floor raised
    after it must cover that commit, or a replica that has not replayed the build is taken for
    one that has (before the fix the floor was the flushed position without a flush: behind the
    build's commit every time)."""
    import asyncio

    import asyncpg

    from geo.db.replicas import ReplicaSet

    async def behind() -> int:
        pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
        try:
            replicas = ReplicaSet(pool, [])
            await pool.execute("CREATE TABLE IF NOT EXISTS floor_probe (x int)")
            missed = 0
            for _ in range(20):
                async with pool.acquire() as conn:
                    await conn.execute("SET synchronous_commit = off")
                    await conn.execute("INSERT INTO floor_probe SELECT generate_series(1, 500)")
                    end = await conn.fetchval("SELECT pg_current_wal_insert_lsn() - '0/0'")
                await replicas.raise_floor()
                missed += replicas.floor < int(end)
            await pool.execute("DROP TABLE floor_probe")
            return missed
        finally:
            await pool.close()

    assert asyncio.run(behind()) == 0
