"""The client's IP address behind reverse proxies, for per-address limits and lockouts.

A request's peer is the client, or a reverse proxy in front of Kefu. ``X-Forwarded-For`` is believed
only when the peer is a trusted proxy, and then only up to the first hop that is not trusted, read
from the right: every hop left of it was written by the client and can be anything. A malformed
hop ends the walk (nothing left of it is trusted).

The Rasa channels (``KEFU_TRUSTED_PROXIES``) and the console (``KEFU_CONSOLE_TRUSTED_PROXIES``) read
their own variable and parse it with :func:`parse_proxies`.
"""

from __future__ import annotations

import ipaddress
from typing import Any, List, Optional, Sequence

#: An address or network of :mod:`ipaddress` (``IPv4Network`` / ``IPv6Network``).
Network = Any


def parse_proxies(text: str, name: str) -> List[Network]:
    """Comma-separated addresses or networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); a ValueError naming
    ``name`` for anything else. Empty text: no proxy is trusted."""
    networks: List[Network] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{name}: {part!r} is not an IP address or network") from None
    return networks


def _ip(value: Optional[str]) -> Optional[Any]:
    try:
        return ipaddress.ip_address((value or "").strip().strip("[]"))
    except ValueError:
        return None


def client_ip(peer: Optional[str], forwarded_for: Optional[str], proxies: Sequence[Network]) -> Optional[str]:
    """The client's address: the peer, or (when the peer is a trusted proxy) the nearest untrusted
    address in ``X-Forwarded-For`` read from the right. None when the peer is not an address."""
    address = _ip(peer)
    if address is None:
        return None

    def trusted(ip: Any) -> bool:
        return any(ip.version == net.version and ip in net for net in proxies)

    if not trusted(address) or not forwarded_for:
        return str(address)
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return str(address)  # a malformed hop: trust nothing left of it
        address = hop_ip
        if not trusted(hop_ip):
            break
    return str(address)
