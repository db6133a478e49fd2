"""Serve djmap, or the benchmark's bare dict route, with N uvicorn processes, each with its own
SO_REUSEPORT listener (TCP_NODELAY set) and the same uvicorn configuration (uvloop, httptools, no
access log).

`--app djmap` (default) is a thin caller of api.server (what `djmap serve --workers N` runs for
N > 1). `--app dict` serves `GET /api/tiles/{layer}/{z}/{x}/{y}.mvt` from a dict {path: gzip body}
loaded from `--tiles` (a pickle bench/bench_tiles.py writes from djmap's own tiles), with the
headers djmap sends: the ceiling of any Python tile server on this stack.

Usage: python bench/serve_reuseport.py --port 8101 --workers 2 [--app dict --tiles FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout this file is in

from api.server import listener, serve_reuseport


def dict_app(tiles: dict[str, bytes]):  # type: ignore[no-untyped-def]
    """A bare Starlette app answering tile paths from `tiles` (404 for others)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    etags = {p: f'"{hashlib.blake2b(b, digest_size=12).hexdigest()}.gz"' for p, b in tiles.items()}

    async def tile(request: Request) -> Response:
        path = request.url.path
        body = tiles.get(path)
        if body is None:
            return Response(status_code=404)
        headers = {
            "ETag": etags[path],
            "Cache-Control": "public, max-age=0, must-revalidate",
            "Vary": "Accept-Encoding",
            "Content-Encoding": "gzip",
        }
        return Response(body, media_type="application/vnd.mapbox-vector-tile", headers=headers)

    async def health(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[Route("/api/tiles/{layer}/{z}/{x}/{y}.mvt", tile), Route("/api/health", health)]
    )


def dict_worker(host: str, port: int, tiles_file: str) -> None:
    """One uvicorn process of the dict app on its own listener (api.server's configuration)."""
    import uvicorn

    tiles = pickle.loads(Path(tiles_file).read_bytes())
    config = uvicorn.Config(
        dict_app(tiles),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[listener(host, port)])


def serve_dict(host: str, port: int, workers: int, tiles_file: str) -> int:
    """Start the dict app's workers and wait for them (SIGTERM stops them)."""
    procs = [
        mp.Process(target=dict_worker, args=(host, port, tiles_file), daemon=True)
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    import signal

    def stop(*_: object) -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()
    return 0


def main() -> None:
    """Start the workers and wait; SIGTERM/SIGINT stops them all."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app", choices=("djmap", "dict"), default="djmap")
    parser.add_argument("--tiles", help="pickle of {path: gzip body} (--app dict)")
    args = parser.parse_args()
    if args.app == "dict":
        sys.exit(serve_dict(args.host, args.port, args.workers, args.tiles))
    sys.exit(serve_reuseport(args.host, args.port, args.workers))


if __name__ == "__main__":
    main()
