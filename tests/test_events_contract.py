"""The event routes against their OpenAPI description: `schemathesis run --checks all` on
/api/events and /api/events/latest (anonymously and as an admin) finds nothing. schemathesis asks
with `Accept: */*`, which gets the JSON form (the stream answers `Accept: text/event-stream`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from live_events import ROOT, Server, user_token


@pytest.mark.parametrize("caller", ["anonymous", "admin"])
def test_schemathesis_finds_nothing_on_the_event_routes(db_url: str, tmp_path: Path, caller: str):
    server = Server(db_url, tmp_path).start()
    try:
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run"]
        cmd += [server.base + "/api/openapi.json", "--include-path-regex", "^/api/events"]
        cmd += ["--checks", "all", "--max-examples", "40", "--workers", "1", "--no-color"]
        if caller == "admin":
            token = user_token(server.base, db_url, "admin")
            cmd += ["-H", f"Authorization: Bearer {token}"]
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    out = run.stdout + run.stderr
    summary = [line.strip() for line in out.splitlines() if " generated, " in line]
    assert summary, out[-6000:]
    assert run.returncode == 0 and " found " not in summary[-1], out[-6000:]
