"""Brakes on password guessing: the failure throttle and the bounded argon2 verifier.

Verification (argon2id: about 0.17 s and 64 MiB each) runs in worker threads, `VERIFY_SLOTS` at
once with at most `VERIFY_WAITING` more waiting; a login past that is answered 503 with
Retry-After before any work, so a flood of logins can neither stall the event loop nor take more
than `VERIFY_SLOTS` × 64 MiB. That also bounds the failure rate of a process (about 12 per second
with 2 slots), which bounds the throttle's tables: failures are a least-recently-failed LRU of
`max_entries` keys per table whose entries expire after `window`; locks are never evicted
before they end (at most the failure rate × `lock` / `max_failures` of them exist at once).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict

import anyio
import anyio.to_thread
from fastapi import Request

from api.proxies import IPNetwork, bucket, client_address, networks
from api.settings import Settings
from geo.users import verify_password

ALL_ADDRESSES = "\x00all"  # the throttle's key for a name's failures from every address
VERIFY_SLOTS = 2
VERIFY_WAITING = 14
Key = tuple[str, str]


class _Failures:
    """Failure times by key, least recently failed first: `size` keys at most (the oldest is
    evicted), and a key whose last failure is older than `window` drops out."""

    def __init__(self, size: int, window: float) -> None:
        self.size, self.window = size, window
        self._times: OrderedDict[Key, list[float]] = OrderedDict()

    def add(self, key: Key, now: float) -> int:
        """Record a failure; the number of failures of this key within the window."""
        recent = [t for t in self._times.pop(key, []) if now - t < self.window]
        recent.append(now)
        self._times[key] = recent
        while self._times:  # expired keys first (they sit at the front) ...
            oldest = next(iter(self._times.values()))
            if now - oldest[-1] < self.window:
                break
            self._times.popitem(last=False)
        while len(self._times) > self.size:  # ... then the least recently failed
            self._times.popitem(last=False)
        return len(recent)

    def forget(self, key: Key) -> None:
        """Drop a key's failures."""
        self._times.pop(key, None)

    def __contains__(self, key: Key) -> bool:
        return key in self._times

    def __len__(self) -> int:
        return len(self._times)


class LoginThrottle:
    """A per-process brake on password guessing, by user name and client address.

    After `max_failures` wrong passwords for one name from one address within `window` seconds,
    that address is refused the name for `lock` seconds (HTTP 429); others may still log in, so
    a stranger cannot lock a known name out by guessing. Guessing one name from many addresses is
    braked too: after `max_name_failures` failures from all addresses the name is refused to
    every address for `lock` seconds. Failure tables hold at most `max_entries` keys each."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 900,
        lock: float = 300,
        max_name_failures: int = 100,
        max_entries: int = 10_000,
    ) -> None:
        self.max_failures, self.window, self.lock = max_failures, window, lock
        self.max_name_failures = max_name_failures
        self._by_client = _Failures(max_entries, window)
        self._by_name = _Failures(max_entries, window)
        self._locked: OrderedDict[Key, float] = OrderedDict()  # in order of their end

    def wait(self, username: str, client: str) -> int:
        """Seconds this client must wait before trying the name again (0 = go ahead)."""
        now = time.monotonic()
        left = 0.0
        for key in ((username, client), (username, ALL_ADDRESSES)):
            until = self._locked.get(key, 0.0)
            if until <= now:
                self._locked.pop(key, None)
            left = max(left, until - now)
        return int(left) + 1 if left > 0 else 0

    def failed(self, username: str, client: str) -> None:
        """Record a wrong password; lock the name for this client (or for all) past the limits."""
        now = time.monotonic()
        for table, key, limit in (
            (self._by_client, (username, client), self.max_failures),
            (self._by_name, (username, ALL_ADDRESSES), self.max_name_failures),
        ):
            if table.add(key, now) >= limit:
                self._lock(key, now)
                table.forget(key)

    def _lock(self, key: Key, now: float) -> None:
        while self._locked and next(iter(self._locked.values())) <= now:
            self._locked.popitem(last=False)  # only locks that have ended
        self._locked.pop(key, None)
        self._locked[key] = now + self.lock

    def succeeded(self, username: str, client: str) -> None:
        """Forget this client's failures for a name that logged in."""
        self._by_client.forget((username, client))

    def tracked(self, username: str, client: str) -> bool:
        """True while failures of the name from this client are remembered."""
        return (username, client) in self._by_client

    def sizes(self) -> tuple[int, int, int]:
        """Keys held: failures by client, failures by name, locks."""
        return len(self._by_client), len(self._by_name), len(self._locked)


class VerifierBusy(Exception):
    """More logins are being checked than the verifier admits; the caller should retry soon."""


class PasswordVerifier:
    """argon2 verification in worker threads, `slots` at once and `waiting` more queued."""

    def __init__(self, slots: int = VERIFY_SLOTS, waiting: int = VERIFY_WAITING) -> None:
        self._limiter = anyio.CapacityLimiter(slots)
        self._admitted = slots + waiting
        self._in_flight = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; VerifierBusy when too many are in flight."""
        if self._in_flight >= self._admitted:
            raise VerifierBusy
        self._in_flight += 1
        try:  # not cancellable: the slot is held until the thread is done
            return await anyio.to_thread.run_sync(
                verify_password, password_hash, password, limiter=self._limiter
            )
        finally:
            self._in_flight -= 1


def login_throttle(request: Request) -> LoginThrottle:
    """The app's throttle (made on first use)."""
    throttle = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


def password_verifier(request: Request) -> PasswordVerifier:
    """The app's verifier (made on first use, inside the event loop)."""
    verifier = getattr(request.app.state, "password_verifier", None)
    if verifier is None:
        verifier = request.app.state.password_verifier = PasswordVerifier()
    return verifier


@functools.lru_cache(maxsize=8)
def _trusted(items: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return networks(items)


def login_client(request: Request) -> str:
    """The throttle's key for the caller: its address (trusted proxies resolved), IPv6 by /64."""
    settings: Settings = request.app.state.settings
    trusted = _trusted(tuple(settings.api.trusted_proxies))
    return bucket(client_address(request.scope, trusted))
