"""A killed server loses no event: a client that had event n resumes with Last-Event-ID n from
the restarted server and gets every event committed meanwhile (while the server was down), in
order, each once, then live ones."""

from __future__ import annotations

from pathlib import Path

from live_events import Reader, Server, emit, until_id, user_token


def test_client_resumes_after_the_server_is_killed_and_restarted(db_url: str, tmp_path: Path):
    server = Server(db_url, tmp_path).start()
    try:
        token = user_token(server.base, db_url, "admin")
        reader = Reader(server.base, token)
        assert reader.next() is not None  # subscribed (the retry hint)
        had = emit(db_url, "activity.created", None, id=1)
        first = reader.events(until_id(had))
        assert [int(e["id"]) for e in first if e["body"]["type"] == "activity.created"] == [had], (
            first
        )
        server.kill()
        assert reader.next() is None  # the stream is cut
        reader.close()
        missed = [emit(db_url, "activity.updated", None, id=1, n=i) for i in range(5)]
        missed.append(emit(db_url, "checkin.created", None, "leader", count=1))
        server.start()
        again = Reader(server.base, token, **{"Last-Event-ID": str(had)})
        assert again.status == 200
        live = emit(db_url, "activity.cancelled", None, id=1)
        got = again.events(until_id(live))
        again.close()
        ids = [int(e["id"]) for e in got]
        assert ids == sorted(set(ids)), ids  # in order, each once
        # the restarted server may announce its own events meanwhile (data versions, say)
        ours = {"activity.updated", "checkin.created", "activity.cancelled"}
        assert [int(e["id"]) for e in got if e["body"]["type"] in ours] == [*missed, live], got
    finally:
        server.stop()
