"""Keep the served tileset fresh: start a background rebuild when the data has moved on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tiles.threed.build import build_running, store_root

_lock = threading.Lock()
_procs: dict[Path, subprocess.Popen[bytes]] = {}
_last_failure: dict[Path, float] = {}
RETRY_AFTER_FAILURE = 30.0  # seconds before a failed rebuild is tried again


def rebuilding(home: Path) -> bool:
    """True while a rebuild started here, or any build holding the lock, is running."""
    proc = _procs.get(store_root(home))
    return (proc is not None and proc.poll() is None) or build_running(home)


def spawn_rebuild(home: Path, url: str, fmt: str = "b3dm") -> bool:
    """Start `python -m tiles.threed` in the background unless one is running; True if started."""
    root = store_root(home)
    with _lock:
        if rebuilding(home):
            return False
        previous = _procs.get(root)
        if previous is not None and previous.returncode not in (None, 0):
            _last_failure[root] = time.monotonic()
            _procs.pop(root)
        if time.monotonic() - _last_failure.get(root, -RETRY_AFTER_FAILURE) < RETRY_AFTER_FAILURE:
            return False  # see rebuild.log; do not hammer a failing build on every request
        root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DJMAP_DATABASE_URL": url, "DJMAP_HOME": str(home)}
        with (root / "rebuild.log").open("ab") as log:
            _procs[root] = subprocess.Popen(
                [sys.executable, "-m", "tiles.threed", "--format", fmt],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return True


def wait_for_rebuild(home: Path, timeout: float | None = None) -> int | None:
    """Wait for the rebuild started here (if any); its exit code."""
    proc = _procs.get(store_root(home))
    return None if proc is None else proc.wait(timeout)
