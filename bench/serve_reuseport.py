"""Serve djmap with N uvicorn processes, each with its own SO_REUSEPORT listener (TCP_NODELAY set).

uvicorn's own `--workers` shares one listening socket whose accepted connections do not get
TCP_NODELAY under uvloop, which adds ~40 ms (delayed ACK) to some responses; separate listeners
with TCP_NODELAY on each (inherited by accepted sockets on Linux) avoid both that and the
thundering herd. Usage: python bench/serve_reuseport.py --port 8101 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import signal
import socket


def listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket with SO_REUSEPORT and TCP_NODELAY (uvicorn calls listen on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock  # uvicorn listens once the app is loaded, so no connection waits on a cold worker


def worker(host: str, port: int) -> None:
    """One uvicorn server process on its own listener."""
    import uvicorn

    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[listener(host, port)])


def main() -> None:
    """Start the workers and wait; SIGTERM/SIGINT stops them all."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    procs = [mp.Process(target=worker, args=(args.host, args.port)) for _ in range(args.workers)]
    for p in procs:
        p.start()

    def stop(*_: object) -> None:
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
