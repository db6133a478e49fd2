"""Signed short-lived tokens of the check-in loop: the activity's rotating QR code (organiser's
screen → member's phone) and the member's card (member's phone → organiser's scanner).

A token is `<kind><id>.<expires>.<signature>`: the kind letter (`a` activity, `m` member), the
row id, the Unix second it expires and an HMAC-SHA256 over all three, truncated to 128 bits and
base64url-encoded. It names nothing but a row id (no name, no position) and lives `TTL_S` seconds;
the kind is signed, so a member's card never passes for an activity's code or the other way round.

The key: derived from DJMAP_SECRET_KEY when one is set (every host of a deployment agrees), else
a random key kept in `<DJMAP_HOME>/token_secret` (mode 0600, made once, shared by every worker),
like the embedded cluster's password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geo.errors import Forbidden, InvalidInput

TTL_S = 60
SECRET_FILE = "token_secret"
KINDS = {"activity": "a", "member": "m"}
_SIG_BYTES = 16
_SHAPE = re.compile(r"^([am])([1-9][0-9]{0,18})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$")
_MAX_TEXT = 64


class TokenInvalid(InvalidInput):
    """Not a token of this kind signed by this server (HTTP 400, code `Token.invalid`)."""

    code = "Token.invalid"


class TokenExpired(Forbidden):
    """A genuine token past its time (HTTP 403, code `Token.expired`): show a fresh one."""

    code = "Token.expired"


@dataclass(frozen=True)
class Signed:
    """A token and when it stops being accepted."""

    token: str
    expires_at: datetime


def _file_key(home: Path) -> bytes:
    """The random key under `home`, made once (0600, exclusive create: workers agree)."""
    path = Path(home) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it just now
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
    text = path.read_text().strip()
    if len(text) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return text.encode()


def token_key(configured: str | None, home: Path) -> bytes:
    """The key that signs tokens: derived from the configured secret key, else the local file."""
    if configured:
        return hmac.new(configured.encode(), b"djmap check-in tokens", hashlib.sha256).digest()
    return _file_key(home)


def _signature(key: bytes, letter: str, row_id: int, expires: int) -> str:
    mac = hmac.new(key, f"djmap:{letter}:{row_id}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).decode().rstrip("=")


def sign(
    key: bytes, kind: str, row_id: int, *, now: float | None = None, ttl: int = TTL_S
) -> Signed:
    """A token for the activity or member `row_id`, valid `ttl` seconds from `now`."""
    letter = KINDS[kind]
    expires = int(now if now is not None else time.time()) + ttl
    token = f"{letter}{row_id}.{expires}.{_signature(key, letter, row_id, expires)}"
    return Signed(token, datetime.fromtimestamp(expires, UTC))


def verify(key: bytes, token: str, kind: str, *, now: float | None = None) -> int:
    """The row id a token of `kind` names; TokenInvalid when it is not one, TokenExpired when
    it is one past its time."""
    match = _SHAPE.match(token.strip()) if len(token) <= _MAX_TEXT else None
    if match is None or match.group(1) != KINDS[kind]:
        raise TokenInvalid(f"not a {kind} code of this server")
    letter, row_id, expires = match.group(1), int(match.group(2)), int(match.group(3))
    if not hmac.compare_digest(_signature(key, letter, row_id, expires), match.group(4)):
        raise TokenInvalid(f"not a {kind} code of this server")
    if (now if now is not None else time.time()) > expires:
        raise TokenExpired(f"this {kind} code expired: ask for the one on screen now")
    return row_id


def qr_svg(text: str) -> str:
    """`text` as a QR code: an SVG document with a viewBox and no size (the page sizes it; segno,
    error correction M)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, omitsize=True, border=2)
    return out.getvalue().decode()
