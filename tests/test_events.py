"""GET /api/events on a real server and database: each caller gets exactly the events its role and
subtree may see, in id order (an id committed late is waited for, a rolled-back one skipped),
resumes with Last-Event-ID / last_event_id / since miss nothing, the JSON form and
/api/events/latest agree, bad ids are 400, and imports and data changes make their events."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from live_events import Reader, Server, emit, get_json, until_id, user_token

from geo.ingest import import_file
from geo.live import events as ev

ORGS = """code,name,type,parent_code,lon,lat
EVC1,事件第一党委,党委,,116.40,39.90
EVB1,事件第一支部,党支部,EVC1,116.41,39.91
EVC2,事件第二党委,党委,,116.50,39.90
EVB2,事件第二支部,党支部,EVC2,116.51,39.91
"""
MEMBERS = """external_id,name,branch_code,status,joined,lon,lat
EVM1,事件党员,EVB1,正式,2010-01-01,116.41,39.91
"""


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The organisations and a member (imported), a server, and one token per caller."""
    home = tmp_path_factory.mktemp("events-home")
    (home / "orgs.csv").write_text(ORGS, "utf-8")
    (home / "members.csv").write_text(MEMBERS, "utf-8")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM members WHERE external_id = 'EVM1'")
        conn.execute("DELETE FROM organisations WHERE code LIKE 'EV%'")
    server = Server(db_url, home).start()
    first = get_json(server.base + "/api/events/latest")["id"]
    orgs = import_file(db_url, "organisations", home / "orgs.csv", progress=False)
    import_file(db_url, "members", home / "members.csv", progress=False)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT code, id FROM organisations WHERE code LIKE 'EV%'").fetchall()
    ids = {code: int(i) for code, i in rows}
    base = server.base
    tokens = {
        "public": None,
        "member": user_token(base, db_url, "member", None, "EVM1"),
        "leader_c1": user_token(base, db_url, "leader", "EVC1"),
        "leader_c2": user_token(base, db_url, "leader", "EVC2"),
        "admin": user_token(base, db_url, "admin"),
    }
    yield {"server": server, "ids": ids, "tokens": tokens, "first": first, "orgs": orgs}
    server.stop()


def _reader(world: dict[str, Any], caller: str, query: str = "", **headers: str) -> Reader:
    """A subscribed reader (its first frame, the retry hint, has come)."""
    reader = Reader(world["server"].base, world["tokens"][caller], query, **headers)
    assert reader.status == 200
    first = reader.next()
    assert first is not None and "retry" in first, first
    return reader


def test_each_caller_gets_what_its_role_and_subtree_may_see(db_url: str, world: dict[str, Any]):
    ids = world["ids"]
    readers = {caller: _reader(world, caller) for caller in world["tokens"]}
    sent = {
        "activity": emit(db_url, "activity.created", ids["EVC2"], "public", id=1),
        "checkin_b1": emit(db_url, "checkin.created", ids["EVB1"], "leader", count=3),
        "reg_c1": emit(db_url, "registration.changed", ids["EVC1"], "member", registered=None),
        "reg_b2": emit(db_url, "registration.changed", ids["EVB2"], "member", registered=None),
        "import": emit(db_url, "import.finished", None, "steward", id=9),
        "layer": emit(db_url, "data.changed", None, "leader", layer="x", version="v"),
        "marker": emit(db_url, "activity.updated", ids["EVC1"], "public", id=2),
    }
    expected = {
        "public": {"activity", "marker"},
        "member": {"activity", "reg_c1", "marker"},
        "leader_c1": {"activity", "checkin_b1", "reg_c1", "layer", "marker"},
        "leader_c2": {"activity", "reg_b2", "layer", "marker"},
        "admin": set(sent),
    }
    name_of = {str(v): k for k, v in sent.items()}
    try:
        for caller, reader in readers.items():
            got = reader.events(until_id(sent["marker"]))
            assert [e["id"] for e in got] == sorted((e["id"] for e in got), key=int)
            # the server may write events of its own meanwhile (data versions): count ours
            assert {name_of[e["id"]] for e in got if e["id"] in name_of} == expected[caller], caller
            for e in got:
                assert e["body"]["id"] == e["id"] and e["body"]["specversion"] == "1.0"
    finally:
        for reader in readers.values():
            reader.close()


def test_resume_from_an_id_misses_nothing_and_sends_nothing_twice(
    db_url: str, world: dict[str, Any]
):
    first = _reader(world, "admin")
    a = emit(db_url, "activity.created", None, id=10)
    assert [
        e["id"] for e in first.events(until_id(a)) if e["body"]["type"] == "activity.created"
    ] == [str(a)]
    first.close()
    missed = [emit(db_url, "activity.updated", None, id=10, n=i) for i in range(3)]
    for how in (
        {"Last-Event-ID": str(a)},
        {"query": f"?last_event_id={a}"},
        {"query": f"?since={a}"},
    ):
        query = str(how.pop("query", ""))
        again = _reader(world, "admin", query, **how)
        live = emit(db_url, "activity.updated", None, id=10, n=99)
        got = again.events(until_id(live))
        again.close()
        ours = [int(e["id"]) for e in got if e["body"]["type"].startswith("activity.")]
        assert ours[: len(missed)] == missed, how  # the server's own events may come between
        assert len({e["id"] for e in got}) == len(got)
        assert int(got[-1]["id"]) == live
        missed.append(live)  # the next resume, from `a` too, gets it as well
    fresh = _reader(world, "admin")  # no id: from now
    now = emit(db_url, "activity.created", None, id=11)
    fresh_got = fresh.events(until_id(now))
    assert [int(e["id"]) for e in fresh_got if e["body"]["type"].startswith("activity.")] == [now]
    fresh.close()


def test_a_late_commit_is_delivered_before_the_ids_above_it(db_url: str, world: dict[str, Any]):
    reader = _reader(world, "admin")
    text, args = ev.insert(ev.NewEvent("activity.created", "late", data={"n": 1}), psycopg=True)
    with psycopg.connect(db_url) as slow, psycopg.connect(db_url) as quick:
        late = slow.execute(text, args).fetchone()[0]  # type: ignore[index]
        early = quick.execute(text, args).fetchone()[0]  # type: ignore[index]
        quick.commit()  # the larger id commits first ...
        slow.commit()  # ... the smaller one after it
    assert early > late
    got = reader.events(until_id(early))
    ours = [int(e["id"]) for e in got if e["body"]["subject"] == "late"]  # a build's may come too
    assert ours == [late, early]
    with psycopg.connect(db_url) as gone, psycopg.connect(db_url) as kept:
        skipped = gone.execute(text, args).fetchone()[0]  # type: ignore[index]
        after = kept.execute(text, args).fetchone()[0]  # type: ignore[index]
        kept.commit()
        gone.rollback()  # a gap for ever: the stream goes on past it
    got = reader.events(until_id(after))
    assert [int(e["id"]) for e in got if e["body"]["subject"] == "late"] == [after]
    assert skipped < after
    reader.close()


def test_json_form_and_latest_agree_with_the_stream(db_url: str, world: dict[str, Any]):
    base, token = world["server"].base, world["tokens"]["leader_c2"]
    start = get_json(base + "/api/events/latest")["id"]
    mine = emit(db_url, "checkin.created", world["ids"]["EVB2"], "leader", count=1)
    theirs = emit(db_url, "checkin.created", world["ids"]["EVB1"], "leader", count=1)  # not c2's
    last = emit(db_url, "activity.created", None, id=12)
    reader = _reader(world, "leader_c2", f"?since={start}")
    reader.events(until_id(last))  # the hub has them all now
    reader.close()
    page = get_json(f"{base}/api/events?last_event_id={start}", token)
    # only this test's own events (the server announces its builds' data versions meanwhile)
    own = {mine, theirs, last}
    assert [int(e["id"]) for e in page["events"] if int(e["id"]) in own] == [mine, last]
    assert page["next"] >= last and page["more"] is False
    small = get_json(f"{base}/api/events?last_event_id={mine - 1}&limit=1", token)
    assert [int(e["id"]) for e in small["events"]] == [mine] and small["more"] is True
    assert get_json(base + "/api/events", token)["events"] == []  # no id: nothing yet
    assert get_json(base + "/api/events/latest")["id"] >= last


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?last_event_id=-1", {}), ("?since=abc", {}), ("", {"Last-Event-ID": "x1"})],
)
def test_bad_event_ids_are_400(world: dict[str, Any], query: str, headers: dict[str, str]):
    with pytest.raises(urllib.error.HTTPError) as err:
        get_json(world["server"].base + "/api/events" + query, None, headers)
    assert err.value.code == 400


def test_an_invalid_token_is_401(world: dict[str, Any]):
    reader = Reader(world["server"].base, "not-a-token")
    assert reader.status == 401
    reader.close()


def test_imports_and_data_changes_make_their_events(
    db_url: str, world: dict[str, Any], tmp_path: Path
):
    base, ids = world["server"].base, world["ids"]
    page = get_json(f"{base}/api/events?last_event_id={world['first']}", world["tokens"]["admin"])
    finished = [e for e in page["events"] if e["subject"].startswith("imports/")]
    assert [e["data"]["kind"] for e in finished] == ["organisations", "members"]
    assert finished[0]["data"] == {
        "id": world["orgs"].import_id,
        "kind": "organisations",
        "status": "written",
        "rows_written": 4,
        "rows_skipped": 0,
    }
    leader = get_json(
        f"{base}/api/events?last_event_id={world['first']}", world["tokens"]["leader_c1"]
    )
    assert not [e for e in leader["events"] if e["subject"].startswith("imports/")]  # stewards

    reader = _reader(world, "public")
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE organisations SET name = name || '*' WHERE id = %s", (ids["EVB2"],))
    got = reader.events(
        lambda e: (
            e["body"]["type"] == "data.changed" and e["body"]["data"]["layer"] == "organisations"
        )
    )
    reader.close()
    announced = got[-1]["body"]["data"]["version"]
    tilejson = get_json(f"{base}/api/tiles/organisations/tilejson.json")
    assert f"v={announced}" in tilejson["tiles"][0]  # the version tile URLs carry now
