"""Who is calling: the TCP peer, or the client a trusted proxy names in X-Forwarded-For.

`DJMAP_TRUSTED_PROXIES` (default none) lists the proxies whose X-Forwarded-For is believed.
uvicorn is told the same (`uvicorn_proxy_options`): with no trusted proxy it never reads proxy
headers (its default would trust 127.0.0.1, so any local process or a proxy that passes the
header through could name any address); with some it trusts exactly those. `client_address` is
the one resolution rule, applied by the app as well, and it notices a server started some other
way (plain `uvicorn`, which trusts 127.0.0.1) that replaced the peer with a forwarded address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOP_CHARS = 64  # a hop that is not an address is kept as text, this long at most
IPV6_BUCKET = 64  # an IPv6 client owns a whole /64: throttle it as one
UNVERIFIED = "forwarded-unverified"  # clients named only by a header nobody vouches for


def networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The trusted proxies as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address in a hop ("1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1"), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


@functools.lru_cache(maxsize=4096)
def _trusted(hop: str, trusted: tuple[IPNetwork, ...]) -> bool:
    found = _address(hop)
    return found is not None and any(found in net for net in trusted)


def _normal(hop: str) -> str:
    found = _address(hop)
    return str(found) if found is not None else hop.strip()[:MAX_HOP_CHARS]


def _forwarded_hops(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every X-Forwarded-For hop, leftmost first (several headers are one list, in order)."""
    hops: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(","))
    return [h for h in hops if h]


def client_address(scope: Mapping[str, Any], trusted: tuple[IPNetwork, ...]) -> str:
    """The caller's address: the TCP peer; when the peer is a trusted proxy, the rightmost
    X-Forwarded-For hop that is not a trusted proxy (each proxy appends the peer it saw, so only
    hops right of the last untrusted one were written by proxies we trust), or the leftmost when
    every hop is trusted.

    With no trusted proxy, a peer that is one of the X-Forwarded-For hops was (almost surely)
    put there by a server that read the header itself (plain `uvicorn` trusts 127.0.0.1): such
    requests share the one address UNVERIFIED, so forged hops never become separate clients."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    hops = _forwarded_hops(scope.get("headers", ()))
    if not trusted:
        named = {_normal(h) for h in hops}
        return UNVERIFIED if hops and _normal(peer) in named else _normal(peer)
    if not _trusted(peer, trusted):
        return _normal(peer)
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return _normal(hop)
    return _normal(hops[0]) if hops else _normal(peer)


def bucket(address: str) -> str:
    """The throttle's key for an address: IPv4 as is, IPv6 by its /64 (one host's share)."""
    found = _address(address)
    if isinstance(found, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{found}/{IPV6_BUCKET}", strict=False))
    return str(found) if found is not None else address


def uvicorn_proxy_options(trusted: list[str]) -> dict[str, Any]:
    """uvicorn's proxy settings for this trust list: off with none, else exactly these."""
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted)}
