"""Helpers of the event-stream tests: a djmap server in its own process (so it can be killed),
users of each role, stream readers on plain HTTP, and events written as the writers do."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from geo.cluster import free_port
from geo.live import events
from geo.users import add_user

ROOT = Path(__file__).resolve().parent.parent
KEY = "events-test-key-" + "e" * 32
PASSWORD = "events-password-1"
WAIT_S = 60  # how long a reader waits for the next event before the test fails (a cap)


class Server:
    """`uvicorn api.app:create_app` on a fixed port, restartable after a kill."""

    def __init__(self, db_url: str, home: Path, **env: str) -> None:
        self.db_url, self.home, self.port = db_url, home, free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
        self.env |= {"DJMAP_DATABASE_URL": db_url, "DJMAP_HOME": str(home)}
        self.env |= {"DJMAP_SECRET_KEY": KEY, "DJMAP_TILE_CACHE": "off", **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        """Start and wait until it answers."""
        cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 120  # a start-up cap, not a timed assertion
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            try:
                latest = get_json(self.base + "/api/events/latest")
                if "id" in latest:
                    return self
            except OSError:
                pass
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Terminate (then kill) the server."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def get_json(url: str, token: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """GET a JSON document (raises HTTPError on a 4xx/5xx)."""
    head = dict(headers or {})
    if token:
        head["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, headers=head)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def user_token(
    base: str, db_url: str, role: str, org: str | None = None, member: str | None = None
) -> str:
    """A new user of `role` (scoped to organisation code `org`, or the member's own) and a token."""
    name = f"ev_{role}_{uuid.uuid4().hex[:8]}"
    add_user(db_url, name, PASSWORD, role, org, member)
    form = urllib.parse.urlencode({"username": name, "password": PASSWORD}).encode()
    with urllib.request.urlopen(base + "/api/auth/token", data=form, timeout=30) as res:
        return str(json.load(res)["access_token"])


def emit(
    db_url: str, type_: str, org_id: int | None = None, audience: str = "public", **data: Any
) -> int:
    """Write one event as the writers do (its own transaction); its id."""
    text, args = events.insert(events.NewEvent(type_, "test", org_id, audience, data), psycopg=True)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(text, args).fetchone()
    assert row is not None
    return int(row[0])


class Reader:
    """One client of GET /api/events (text/event-stream), read by a thread into a queue of
    frames: {"id", "event", "data"} dicts, and {"comment": text} for comment lines."""

    def __init__(
        self, base: str, token: str | None = None, query: str = "", **headers: str
    ) -> None:
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=WAIT_S)
        head = {"Accept": "text/event-stream", **headers}
        if token:
            head["Authorization"] = f"Bearer {token}"
        self.conn.request("GET", "/api/events" + query, headers=head)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.frames: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        frame: dict[str, Any] = {}
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if frame:
                        self.frames.put(frame)
                    frame = {}
                elif line.startswith(":"):
                    self.frames.put({"comment": line[1:].strip()})
                else:
                    name, _, value = line.partition(":")
                    frame[name] = value.removeprefix(" ")
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        self.frames.put(None)  # the stream ended

    def next(self) -> dict[str, Any] | None:
        """The next frame (None: the stream ended); fails the test after WAIT_S without one."""
        return self.frames.get(timeout=WAIT_S)

    def events(self, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The events (data parsed) up to and including the first for which `until` holds."""
        out: list[dict[str, Any]] = []
        while True:
            frame = self.next()
            assert frame is not None, f"the stream ended after {out}"
            if "data" not in frame:
                continue
            event = {**frame, "body": json.loads(frame["data"])}
            out.append(event)
            if until(event):
                return out

    def close(self) -> None:
        """Hang up."""
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def until_id(event_id: int) -> Callable[[dict[str, Any]], bool]:
    """Stop at the event with this id."""
    return lambda e: e.get("id") == str(event_id)
