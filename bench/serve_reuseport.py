"""Serve djmap with N uvicorn processes, each with its own SO_REUSEPORT listener (TCP_NODELAY set).

A thin caller of api.server (what `djmap serve --workers N` runs for N > 1).
Usage: python bench/serve_reuseport.py --port 8101 --workers 2
"""

from __future__ import annotations

import argparse
import sys

from api.server import serve_reuseport


def main() -> None:
    """Start the workers and wait; SIGTERM/SIGINT stops them all."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.exit(serve_reuseport(args.host, args.port, args.workers))


if __name__ == "__main__":
    main()
