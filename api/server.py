"""Serve djmap with N uvicorn processes, each with its own SO_REUSEPORT listener (TCP_NODELAY set).

uvicorn's own `--workers` shares one listening socket whose accepted connections do not get
TCP_NODELAY under uvloop (Kludex/uvicorn#3149), which adds ~40 ms (delayed ACK) to some
responses; separate listeners with TCP_NODELAY on each (inherited by accepted sockets on Linux)
avoid both that and the thundering herd. The kernel spreads connections over the listeners.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import socket


def listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket with SO_REUSEPORT and TCP_NODELAY (uvicorn calls listen on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock  # uvicorn listens once the app is loaded, so no connection waits on a cold worker


GRACE_S = 10  # a stop waits this long for open requests and event streams, then closes them


def worker(host: str, port: int, log_level: str = "warning") -> None:
    """One uvicorn server process on its own listener (proxy headers: DJMAP_TRUSTED_PROXIES)."""
    import uvicorn

    from api.proxies import uvicorn_proxy_options
    from api.settings import ApiSettings

    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACE_S,
        **uvicorn_proxy_options(ApiSettings().trusted_proxies),
    )
    uvicorn.Server(config).run(sockets=[listener(host, port)])


def serve_reuseport(host: str, port: int, workers: int, log_level: str = "warning") -> int:
    """Start `workers` processes and wait; SIGTERM/SIGINT (or one worker exiting) stops them all.

    Returns the exit code of the first worker that ended (0 when stopped by a signal)."""
    procs = [mp.Process(target=worker, args=(host, port, log_level)) for _ in range(workers)]
    for p in procs:
        p.start()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        from multiprocessing.connection import wait

        ended = wait([p.sentinel for p in procs])
        first = next(p for p in procs if p.sentinel in ended)
        first.join()
        code = 0 if stopping else (first.exitcode or 0)
        stop()
        for p in procs:
            p.join()
        return code
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
