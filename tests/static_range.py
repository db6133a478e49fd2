"""A static file server on loopback that answers HTTP Range requests (206), CORS preflights and
the cache headers `djmap tiles publish` gives (tiles/publish.py): what a CDN in front of a bucket
answers, for the edge tests. It records every request (path and Range header)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tiles.publish import ARCHIVE_CACHE, ARCHIVE_TYPE, INDEX_CACHE

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass
class Served:
    """The server's base URL and the requests it answered: (method, path, Range or '')."""

    base: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)


class RangeHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of files under the directory, whole (200) or one byte range (206 / 416)."""

    log_to: Served

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests` instead."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "ETag, Content-Range, Content-Length")
        super().end_headers()

    def do_OPTIONS(self) -> None:
        self.log_to.requests.append(("OPTIONS", self.path, ""))
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD")
        self.send_header("Access-Control-Allow-Headers", "Range, If-Match")
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        wanted = self.headers.get("Range", "")
        self.log_to.requests.append((self.command, self.path, wanted))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end, status = 0, len(data) - 1, 200
        if wanted:
            found = RANGE.match(wanted.strip())
            first, last = found.groups() if found else ("", "")
            if first:
                start, end = int(first), min(int(last or end), end)
            elif last:
                start = max(0, len(data) - int(last))
            if not found or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", self._type(path))
        self.send_header(
            "Cache-Control", ARCHIVE_CACHE if path.suffix == ".pmtiles" else INDEX_CACHE
        )
        self.send_header("ETag", f'"{path.stat().st_mtime_ns:x}-{len(data):x}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if body:
            self.wfile.write(data[start : end + 1])

    @staticmethod
    def _type(path: Path) -> str:
        return {".pmtiles": ARCHIVE_TYPE, ".json": "application/json"}.get(
            path.suffix, "application/octet-stream"
        )


@contextmanager
def static_server(root: Path) -> Iterator[Served]:
    """Serve `root` on a free loopback port until the block ends."""
    served = Served("")
    handler = type("Handler", (RangeHandler,), {"log_to": served})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=os.fspath(root)))
    served.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
