"""`djmap serve --workers N`: one SO_REUSEPORT listener with TCP_NODELAY per worker process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from api.server import listener

DJMAP = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "djmap"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_listener_sets_reuseport_and_nodelay_on_accepted_connections() -> None:
    sock = listener("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            conn, _ = sock.accept()
            with conn:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                client.sendall(b"x")
                assert conn.recv(1) == b"x"
        twin = listener("127.0.0.1", sock.getsockname()[1])  # a second worker's listener
        twin.close()
    finally:
        sock.close()


def _health(port: int) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
        return r.status, r.read()


def test_serve_with_two_workers_answers_health(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DJMAP_DATABASE_URL": db_url}
    cmd = [str(DJMAP), "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60  # a start-up wait cap, not a timed assertion
        while True:
            try:
                status, body = _health(port)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "djmap serve did not answer"
                time.sleep(0.3)
        assert status == 200, body
        for _ in range(6):  # both listeners answer whichever the kernel picks
            assert _health(port)[0] == 200
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in children:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                continue
            raise AssertionError(f"worker {pid} outlived djmap serve")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
