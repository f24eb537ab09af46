"""Which network addresses hashcart may connect to when a stranger chose the place (a
shopper's Mastodon server, a DID's PDS, a short link's target): public ones only. One home
for that rule, so every outbound fetch refuses the same private, loopback, link-local,
multicast, reserved and unspecified addresses, IPv4 ones carried inside IPv6 included."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from hashcart.errors import HashcartError

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


class Refused(HashcartError, httpcore.ConnectError):
    """The host resolves to an address we do not connect to; the message says which."""


class PublicOnlyBackend(httpcore.NetworkBackend):
    """An httpcore backend that connects only to public addresses, and to exactly the address
    it checked: the name is looked up once here, so DNS cannot answer a public address to the
    check and a private one to the connection (DNS rebinding). TLS still verifies the
    certificate against the host name (httpcore passes it to `start_tls`).

    A name with one non-public address among public ones is refused: which one we would
    reach is not ours to choose. Subclasses may look up differently (with a deadline), or
    wrap the streams (to bound every read and write)."""

    def __init__(self, also_allowed: frozenset[IPAddress] = frozenset()) -> None:
        # Tests that run the far side on loopback allow that one address; never a setting.
        self.also_allowed = also_allowed
        self._tcp = httpcore.SyncBackend()

    def lookup(self, host: str, port: int) -> list[str]:
        """The host's addresses, as text."""
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"{host} could not be looked up ({error})") from error
        return [str(sockaddr[0]) for *_, sockaddr in answers]

    def connect_timeout(self, timeout: float | None) -> float | None:
        return timeout

    def wrap(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        return stream

    def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of `host`, if every one of them is allowed; else Refused."""
        try:
            addresses = [parse_address(found) for found in self.lookup(host, port)]
        except ValueError:
            raise Refused(f"refused: {host} resolves to something that is no address") from None
        for address in addresses:
            reason = None if address in self.also_allowed else non_public_reason(address)
            if reason is not None:
                raise Refused(f"refused: {host} resolves to {reason}")
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in self.checked_addresses(host, port):
            try:
                stream = self._tcp.connect_tcp(
                    str(address),
                    port,
                    timeout=self.connect_timeout(timeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            return self.wrap(stream)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise Refused("refused: unix sockets are never connected to")

    def sleep(self, seconds: float) -> None:
        self._tcp.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport over PublicOnlyBackend, for places a stranger chose (a shopper's
    Mastodon server, the PDS their handle names). httpx offers no backend option, so the
    connection pool is rebuilt with ours: the same TLS context and defaults otherwise."""

    def __init__(self, also_allowed: frozenset[IPAddress] = frozenset()) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=PublicOnlyBackend(also_allowed),
        )
