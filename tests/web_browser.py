"""Browser-test helpers: a real uvicorn server on a free port and Debian's Chromium via Playwright.

No browser is downloaded: Playwright drives /usr/bin/chromium. Every request the page makes is
recorded, and any request to a host other than the server is aborted and reported.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_built() -> None:
    """The front-end bundle exists (`make` builds it; build it here when only pytest was run)."""
    dist = ROOT / "web" / "static" / "dist"
    built = ("deck.js", "live.js", "activities.js", "screen.js", "health.js")
    if not all((dist / name).exists() for name in built):
        subprocess.run(["npm", "run", "build", "--silent"], cwd=ROOT / "web", check=True)


@contextmanager
def serve(db_url: str, env: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """Run `uvicorn api.app:create_app` against db_url (on `port`, else a free one); yields the
    base URL."""
    ensure_built()
    port = port or free_port()
    fd, log_name = tempfile.mkstemp(prefix="djmap-web-", suffix=".log")
    log = os.fdopen(fd, "wb")
    # The pages' servers wait longer for a database connection (2 s by default) and let a tile
    # statement run longer (5 s) before a 503: two test workers with software WebGL keep the 2
    # cores busy, and a page's burst of tiles may queue (the 503s are tested in
    # tests/test_db_limits.py).
    base_env = {
        "DJMAP_DATABASE_URL": db_url,
        "DJMAP_POOL_TIMEOUT": "30",
        "DJMAP_STATEMENT_TIMEOUT": "30",
    }
    proc_env = {**os.environ, **base_env, **(env or {})}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=proc_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc, Path(log_name))
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        Path(log_name).unlink(missing_ok=True)


def _wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@dataclass
class PageLog:
    """What a page did: console errors, page errors, requests (and which went elsewhere)."""

    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything that should not have happened."""
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"pageerror: {m}" for m in self.page_errors]
            + [f"foreign request: {u}" for u in self.foreign]
            + [f"failed: {u}" for u in self.failed if not _stream_closed(u)]
        )


def _stream_closed(failure: str) -> bool:
    """The page's event stream (/api/events, open for as long as the page) or the tab's icon
    (fetched by the browser, not the page, after load) cut by a navigation or a reload:
    expected, not a failure."""
    cut_short = ("/api/events", "/favicon.svg")
    return "ERR_ABORTED" in failure and any(part in failure for part in cut_short)


class Browser:
    """One Chromium with a fresh profile; pages share it."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="djmap-chromium-")
        self._pw = sync_playwright().start()
        self.context = self._pw.chromium.launch_persistent_context(
            self._profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            service_workers="block",
        )
        # Waits, not timings: on 2 cores running two test workers, software WebGL can hold a
        # page's main thread for many seconds while a 3D frame renders.
        self.context.set_default_timeout(90_000)

    def open(
        self, base: str, path: str, viewport: dict[str, int] | None = None, **context: Any
    ) -> tuple[Any, PageLog]:
        """A new page on base+path with its log; waits for the network to settle."""
        page = self.context.new_page()
        if viewport:
            page.set_viewport_size(viewport)  # type: ignore[arg-type]
        log = PageLog(base)
        host = urlsplit(base).netloc

        def route(r: Any) -> None:
            url = r.request.url
            log.requests.append(url)
            if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == host:
                r.continue_()
            else:
                log.foreign.append(url)
                r.abort()

        page.route("**/*", route)
        page.on(
            "console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on(
            "requestfailed",
            lambda r: (
                log.failed.append(f"{r.url} {r.failure}")
                if urlsplit(r.url).netloc == host
                else None
            ),
        )
        page.goto(base + path, wait_until="load")
        return page, log

    def close(self) -> None:
        """Close the browser and remove its profile."""
        self.context.close()
        self._pw.stop()
        shutil.rmtree(self._profile, ignore_errors=True)


def login(page: Any, base: str, username: str, password: str) -> None:
    """Log the page's origin in as `username` (the token the login dialog would store), then
    reload it."""
    import json

    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(base + "/api/auth/token", data=data, timeout=30) as res:
        token = json.loads(res.read())["access_token"]
    page.evaluate(
        "([t, u]) => { localStorage.setItem('djmap_token', t); localStorage.setItem('djmap_user', u); }",
        [token, username],
    )
    page.reload(wait_until="load")


def wait_for_map(page: Any, timeout_ms: int = 90_000) -> None:
    """Until deck.gl is ready and some layer data has been drawn."""
    page.wait_for_function(  # a function, not an expression: the pages' CSP forbids eval
        "() => window.djmapPerf && window.djmapPerf.deckReady !== null"
        " && window.djmapPerf.firstData !== null",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(600)  # let the frame with the data be composited


def canvas_variance(page: Any, selector: str = "#map canvas") -> float:
    """Pixel variance of the map canvas as shown on screen (0 = blank)."""
    import io

    from PIL import Image, ImageStat

    png = page.locator(selector).first.screenshot()
    stat = ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L"))
    return float(stat.var[0])


def colour_share(
    page: Any, rgb: tuple[int, int, int], tol: int = 40, selector: str = "#map canvas"
) -> float:
    """Share of map pixels close to a colour (e.g. party red)."""
    import io

    from PIL import Image

    png = page.locator(selector).first.screenshot()
    img = Image.open(io.BytesIO(png)).convert("RGB").resize((240, 150))
    px = list(img.getdata())
    near = sum(1 for p in px if all(abs(p[i] - rgb[i]) <= tol for i in range(3)))
    return near / len(px)
