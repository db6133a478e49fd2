"""Read-your-writes across processes: a successful write request (POST, PUT, PATCH, DELETE
answered below 400) is answered `tiles.versions.SETTLE_S` after its handler returned, i.e. after
its commit, so the caller's next request sees the write in every worker process, whose data
versions are kept under a lease that short (tiles/versions.py). Failed and read requests go out
at once.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tiles.versions import settle_write

WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class SettleWrites:
    """ASGI middleware holding a successful write's response start for `settle_write`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return

        async def settled_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await settle_write()
            await send(message)

        await self.app(scope, receive, settled_send)
