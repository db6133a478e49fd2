"""Rebuild the served tileset in a subprocess (`python -m tiles.threed`), for the derived-build
scheduler (tiles/builders.py): the build's CPU work stays out of the server's event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import suppress
from pathlib import Path

from tiles.threed.build import store_root

STOP_S = 10.0  # a cancelled rebuild gets this long to stop after SIGTERM, then SIGKILL


class RebuildFailed(RuntimeError):
    """The rebuild subprocess exited with an error (its output is in rebuild.log)."""


def log_path(home: Path) -> Path:
    """Where rebuild output goes."""
    return store_root(home) / "rebuild.log"


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


async def rebuild(home: Path, url: str, fmt: str = "b3dm") -> None:
    """Run `python -m tiles.threed --format fmt` for `home` and wait; RebuildFailed on an error
    exit. Cancelling terminates the subprocess (its staging folder is left for the next build)."""
    store_root(home).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DJMAP_DATABASE_URL": url, "DJMAP_HOME": str(home)}
    with log_path(home).open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tiles.threed",
            "--format",
            fmt,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        code = await proc.wait()
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    if code != 0:
        raise RebuildFailed(f"3D Tiles rebuild exited with {code}: {_tail(log_path(home))}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    with suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), STOP_S)
    except TimeoutError:
        with suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
