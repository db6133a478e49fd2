"""Response hardening headers, the request body cap, and secrets kept out of access logs.

- Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` (a page's
  URL, the embed key in it included, never goes to another site; same-origin navigations keep
  it, which the admin page's embed preview needs) and, unless the route set its own,
  `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` (nothing of an API
  answer runs or is framed). Pages set `page_csp`: scripts only from this server (the page
  config is an inert `application/json` block), frame-ancestors 'none' or, for `/embed`, the
  embed key's origins (`*` for its refusal card, which holds no data).
- A request body that is not a multipart upload (JSON, forms) is capped at DJMAP_MAX_JSON_KB:
  413 with a JSON error, by Content-Length or while streaming. Uploads keep their own caps.
- `uvicorn.access` records have `key=`, `token=`, `access_token=` and `t=` query values
  replaced by `***` (embed keys and check-in tokens travel in page URLs).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

import orjson
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
REFERRER_POLICY = "same-origin"
SECRET_PARAMS = frozenset({"key", "token", "access_token", "t"})
_PARAM_RE = re.compile(r"([?&;])([^=&;\s\"#]+)=([^&;\s\"#]*)")


def page_csp(frame_ancestors: Iterable[str] = ("'none'",), extra: Iterable[str] = ()) -> str:
    """The pages' policy: everything from this server (plus `extra` origins for an online
    basemap's tiles), inline style attributes allowed (the pages' scripts write them), no
    inline or eval'd script (WebAssembly may compile), framed only by `frame_ancestors`."""
    more = " ".join(extra)
    own = f"'self' {more}".strip()
    directives = [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",  # WebAssembly (h3, decoders), never JS eval
        "style-src 'self' 'unsafe-inline'",
        f"img-src {own} data: blob:",
        f"connect-src {own} data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors " + " ".join(frame_ancestors),
    ]
    return "; ".join(directives)


class SecurityHeaders:
    """ASGI middleware adding the hardening headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", REFERRER_POLICY)
                headers.setdefault("Content-Security-Policy", API_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _body_headers(scope: Scope) -> tuple[bool, int | None, bool]:
    """(multipart upload?, declared Content-Length, chunked?) of a request."""
    upload, length, chunked = False, None, False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            upload = value.lower().lstrip().startswith(b"multipart/form-data")
        elif name == b"content-length":
            length = int(value) if value.strip().isdigit() else None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return upload, length, chunked


class BodyCap:
    """ASGI middleware: 413 for a non-upload request body over `max_bytes`.

    Such a body (at most `max_bytes`, so buffering it is cheap) is read here before the app
    runs, then handed on unchanged; requests without a body pass straight through."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload, length, chunked = _body_headers(scope)
        if upload or not (chunked or length):
            await self.app(scope, receive, send)
            return
        if length is not None and length > self.max_bytes:
            await self._refuse(send)
            return
        first = await self._read(receive)
        if first is None:
            await self._refuse(send)
            return
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if handed:
                return await receive()
            handed = True
            return first

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> Message | None:
        """The whole body as one message (or the disconnect that cut it); None when too large."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(self, send: Send) -> None:
        kb = self.max_bytes // 1024
        body = orjson.dumps(
            {"code": "PayloadTooLarge", "description": f"request body is larger than {kb} KB"}
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def redact(text: str) -> str:
    """The text with secret query values (`key=`, `token=`, …) replaced by `***` (names are
    compared percent-decoded, as the app reads them)."""

    def hide(m: re.Match[str]) -> str:
        secret = unquote_plus(m.group(2)).lower() in SECRET_PARAMS
        return f"{m.group(1)}{m.group(2)}=***" if secret else m.group(0)

    return _PARAM_RE.sub(hide, text)


class RedactSecrets(logging.Filter):
    """Rewrites a log record's message arguments with `redact` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place."""
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


_REDACT = RedactSecrets()


def redact_access_log() -> None:
    """Put the redacting filter on uvicorn's access logger (once per process)."""
    logging.getLogger("uvicorn.access").addFilter(_REDACT)  # addFilter ignores a repeat


def add_security(app: FastAPI, settings: Settings) -> None:
    """Hardening headers, the body cap and access-log redaction for an app."""
    app.add_middleware(BodyCap, max_bytes=settings.api.max_json_kb * 1024)
    app.add_middleware(SecurityHeaders)
    redact_access_log()
