"""Benchmark: first render of `/` on loopback and the JavaScript it transfers (targets ≤ 3 s, ≤ 5 MB).

    .venv/bin/python bench/bench_web.py [--runs 5] [--url postgresql://...] [--base http://...]

Starts `uvicorn api.app:create_app` on a free port against the database in use (DJMAP_DATABASE_URL
or the embedded cluster with its built terrain and 3D Tiles; `make run` prepares both), unless
--base names a running server. Each run opens `/` in Debian's Chromium with a fresh profile (cold
HTTP cache) at 1440×900 and measures, in the page:
- deck ready: deck.gl's `onLoad` (WebGL context and first frame), ms after navigation start;
- first tiles drawn: the first `onViewportLoad`/`onDataLoad` of a layer (its tiles for the
  initial view are in and drawn on the next frame), ms after navigation start;
- JS transferred: the sum of `encodedBodySize` (bytes on the wire, gzip) of every script.
Chromium renders WebGL with SwiftShader (CPU) here; a machine with a GPU draws faster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from web_browser import Browser, serve, wait_for_map  # noqa: E402

MEASURE = """() => {
  const perf = window.djmapPerf;
  const res = performance.getEntriesByType('resource');
  const js = res.filter(r => r.initiatorType === 'script' || /\\.m?js(\\?|$)/.test(r.name));
  return {
    deck_ready_ms: perf.deckReady,
    first_tiles_ms: perf.firstData,
    js_bytes: js.reduce((s, r) => s + (r.encodedBodySize || 0), 0),
    js_decoded_bytes: js.reduce((s, r) => s + (r.decodedBodySize || 0), 0),
    requests: res.length,
  };
}"""


@contextlib.contextmanager
def server(args: argparse.Namespace) -> Iterator[str]:
    """The base URL: --base, or a server started here on the database in use."""
    if args.base:
        yield args.base
        return
    from geo.settings import get_db_settings

    url = args.url or get_db_settings().url
    with serve(url) as base:
        yield base


def one_run(base: str) -> dict[str, float]:
    """Open `/` in a fresh browser profile and read the figures."""
    browser = Browser()
    try:
        page, log = browser.open(base, "/")
        wait_for_map(page, timeout_ms=120_000)
        figures: dict[str, float] = page.evaluate(MEASURE)
        figures["foreign_requests"] = len(log.foreign)
        return figures
    finally:
        browser.close()


def main() -> int:
    """Run, print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("DJMAP_DATABASE_URL"))
    parser.add_argument("--base", default=None, help="a running server instead of starting one")
    args = parser.parse_args()
    with server(args) as base:
        one_run(base)  # warm the server (tile cache, 3D Tiles) once; not counted
        runs = [one_run(base) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"machine: {platform.node()} {platform.machine()} cpus={os.cpu_count()}")
    print(f"runs: {args.runs} (fresh profile each, median shown)")
    print(f"deck ready        {med['deck_ready_ms']:8.0f} ms")
    print(f"first tiles drawn {med['first_tiles_ms']:8.0f} ms   (target ≤ 3000 ms)")
    print(
        f"JS transferred    {med['js_bytes'] / 1e6:8.2f} MB gzip ({med['js_decoded_bytes'] / 1e6:.2f} MB decoded; target ≤ 5 MB)"
    )
    print(f"requests          {med['requests']:8.0f}   foreign: {med['foreign_requests']:.0f}")
    print(json.dumps({"bench": "web", "runs": runs, "median": med}))
    ok = med["first_tiles_ms"] <= 3000 and med["js_bytes"] <= 5e6 and med["foreign_requests"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
