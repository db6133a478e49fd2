"""The servers of the tile benchmark (bench/bench_tiles.py): djmap, the bare dict route, tipg;
and wrk, which drives them."""

from __future__ import annotations

import gzip
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "bench" / "serve_reuseport.py"


def wait_http(url: str, timeout: float = 90) -> None:
    """Wait until `url` answers 200."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def check_free(port: int) -> None:
    """Refuse a port something already listens on: with SO_REUSEPORT a leftover server would
    silently share the benchmark's connections."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is in use (a leftover server?); stop it first")


def start_djmap(
    url: str, port: int, workers: int, cache: str, home: Path, freshness: str
) -> subprocess.Popen[bytes]:
    """djmap on `port` (bench/serve_reuseport.py)."""
    env = {
        **os.environ,
        "DJMAP_DATABASE_URL": url,
        "DJMAP_TILE_CACHE": cache,
        "DJMAP_HOME": str(home),
        "DJMAP_TILE_FRESHNESS": freshness,
    }
    cmd = [sys.executable, str(SERVE), "--port", str(port), "--workers", str(workers)]
    check_free(port)
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    wait_http(f"http://127.0.0.1:{port}/api/health")
    return proc


def start_dict(port: int, workers: int, tiles_file: Path) -> subprocess.Popen[bytes]:
    """The bare Starlette dict route on `port`, same uvicorn set-up as djmap."""
    cmd = [sys.executable, str(SERVE), "--port", str(port), "--workers", str(workers)]
    cmd += ["--app", "dict", "--tiles", str(tiles_file)]
    check_free(port)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wait_http(f"http://127.0.0.1:{port}/api/health")
    return proc


def ensure_tipg(python: str) -> None:
    """Install tipg from PyPI into its own venv (never into djmap's) when missing."""
    if Path(python).exists():
        return
    venv = Path(python).parent.parent
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"], check=True)


def start_tipg(python: str, url: str, port: int) -> subprocess.Popen[bytes]:
    """tipg with its defaults (one uvicorn process) on `port`."""
    ensure_tipg(python)
    env = {**os.environ, "DATABASE_URL": url}
    cmd = [python, "-m", "uvicorn", "tipg.main:app", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    check_free(port)
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir())
    wait_http(f"http://127.0.0.1:{port}/collections")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started here."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_wrk(port: int, paths: list[str], conc: int, seconds: float) -> dict[str, float]:
    """wrk against the paths (cycled), one thread, `conc` connections; with the load average."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    env = {**os.environ, "TILE_LIST": f.name}
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    cmd += ["-s", str(ROOT / "bench" / "tiles.lua"), f"http://127.0.0.1:{port}"]
    load = loadavg()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    return {**json.loads(line), "load1": load}


def fetch(port: int, path: str, tries: int = 5) -> tuple[bytes, bytes]:
    """(raw MVT, bytes on the wire) of one tile, asking for gzip (a 503 of a loaded machine,
    a statement or pool timeout, is tried again)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Accept-Encoding": "gzip"}
    )
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                body = r.read()
                zipped = r.headers.get("Content-Encoding") == "gzip"
            return (gzip.decompress(body) if zipped else body), body
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == tries - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def loadavg() -> float:
    """The 1-minute load average (the machine is shared: recorded with every run)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine() -> str:
    """One line naming the machine."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
