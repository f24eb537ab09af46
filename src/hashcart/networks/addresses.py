"""Which network addresses hashcart may connect to when a stranger chose the place (a
shopper's Mastodon server, a DID's PDS, a short link's target): public ones only. One home
for that rule, so every outbound fetch refuses the same private, loopback, link-local,
multicast, reserved and unspecified addresses, IPv4 ones carried inside IPv6 included."""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            kind = _non_public_kind(inner)
            return f"{address} is {kind} (it carries {inner})" if kind else None
    kind = _non_public_kind(address)
    return f"{address} is {kind}" if kind else None


def _non_public_kind(address: IPAddress) -> str | None:
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not a public address", not address.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)


def parse_address(text: str) -> IPAddress:
    """An address as getaddrinfo gives it (an IPv6 scope `%eth0` dropped)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def non_public_host_reason(host: str, port: int) -> str | None:
    """Why `host` must not be connected to: it resolves to a non-public address (any of its
    addresses). None when all its addresses are public. OSError/UnicodeError when it cannot
    be looked up (the caller decides what that means)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in answers:
        reason = non_public_reason(parse_address(str(sockaddr[0])))
        if reason is not None:
            return reason
    return None
