"""Following short links (bit.ly, amzn.to…) to the product page they stand for.

A post that carries only `https://bit.ly/x` names a product all the same; the engine sees it
once the link is followed. Following a stranger's link is where a server gets tricked into
calling its own network, so the walk is narrow on purpose:

- only links on an allowlisted shortener host (`shortener_hosts`, exact host after
  lower-casing) are followed, never `t.co` (X already gives the expanded URL);
- at most `max_redirects` (3) redirects, http and https only, no credentials in URLs;
- every host we connect to is looked up once, and every address it has must be public
  (`AddressPolicy`: no private, loopback, link-local, multicast, reserved, unspecified or
  otherwise non-global address, IPv4-mapped and 6to4 forms judged by the IPv4 inside);
- the connection is PINNED to the checked address: `_PinnedBackend` is the httpcore network
  backend, so the TCP connection is opened to the very IP that passed the check (DNS is not
  asked again between check and connect), while the Host header and the TLS server name
  (SNI, and so certificate checking) stay the link's host name;
- HEAD first, and GET only when HEAD is refused, closing the GET without reading its body;
- connect timeout 3 s, and 5 s for the whole walk (name look-ups included), enforced on
  every socket read and write, so a server that drips bytes cannot hold ingest;
- no cookies (httpcore keeps none) and no proxy from the environment;
- a redirect onto one of the shop's own hosts ends the walk: that is the product link.

Each short link is followed once: the target, or the problem and its reason, is kept in
`resolved_links` (store.resolved_links), and every later post reads it there."""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from hashcart.domain.urls import extract_urls
from hashcart.networks.addresses import IPAddress, PublicOnlyBackend, Refused, non_public_reason
from hashcart.ports import Resolution, ResolvedLinks

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# (host, port, seconds allowed) -> the addresses the host has.
Lookup = Callable[[str, int, float], Sequence[str]]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# X wraps every link in t.co and gives the expanded URL beside it: never ours to follow.
NEVER_FOLLOWED = frozenset({"t.co"})
# A post with more short links than this is someone's idea of a denial of service.
MAX_LINKS_PER_POST = 4
MAX_URL_LENGTH = 2048
USER_AGENT = b"hashcart short-link check (+https://github.com/hashcart)"
# How long the shop's hosts (where a walk may stop) are reused before being read again.
SHOP_HOSTS_REFRESH = timedelta(minutes=1)


@dataclass(frozen=True)
class AddressPolicy:
    """Which peer addresses a walk may connect to: public ones, plus `also_allowed`.

    Production uses `AddressPolicy()`; a test that runs its shortener on loopback passes
    `AddressPolicy.allowing("127.0.0.1")` to that one resolver. It is deliberately no
    setting: no configuration can open the server's own network to strangers' links."""

    also_allowed: frozenset[IPAddress] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, *addresses: str) -> AddressPolicy:
        return cls(frozenset(ipaddress.ip_address(address) for address in addresses))

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` is refused, or None when a connection to it is allowed."""
        if address in self.also_allowed:
            return None
        return non_public_reason(address)


class _Stop(Exception):
    """The walk ends with a problem; the message is the reason recorded."""


_DNS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shortlink-dns")


def system_lookup(host: str, port: int, seconds: float) -> list[str]:
    """The host's addresses from the system resolver, within `seconds` (getaddrinfo has no
    timeout of its own, so it runs on a small thread pool and is waited for)."""
    future = _DNS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        answers = future.result(timeout=max(seconds, 0.0))
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"looking up {host} took too long") from None
    except OSError as error:
        raise _Stop(f"{host} could not be looked up ({error})") from None
    return [str(sockaddr[0]) for *_, sockaddr in answers]


@dataclass
class _Deadline:
    """The walk's total time: every wait is cut to what is left of it."""

    at: float

    def clamp(self, timeout: float | None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the short link took longer than allowed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the walk's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the link's host name (httpcore passes the URL's host), so SNI
        # and certificate checks are against the name even though we dialled an address.
        secured = self._inner.start_tls(ssl_context, server_hostname, self._deadline.clamp(timeout))
        return _DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(PublicOnlyBackend):
    """The public-only backend with the walk's policy, its bounded look-ups, and streams that
    end by the walk's deadline."""

    def __init__(
        self, policy: AddressPolicy, lookup: Lookup, deadline: _Deadline, connect_timeout: float
    ) -> None:
        super().__init__(policy.also_allowed)
        self._lookup = lookup
        self._deadline = deadline
        self._connect_timeout = connect_timeout

    def lookup(self, host: str, port: int) -> list[str]:
        return list(self._lookup(host, port, self._deadline.clamp(self._connect_timeout)))

    def connect_timeout(self, timeout: float | None) -> float | None:
        return self._deadline.clamp(
            min(self._connect_timeout, math.inf if timeout is None else timeout)
        )

    def wrap(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        return _DeadlineStream(stream, self._deadline)


class ShortLinkResolver:
    """A LinkResolver: a post's links, plus where its short links lead (cached)."""

    def __init__(
        self,
        cache: ResolvedLinks,
        hosts: Iterable[str],
        *,
        is_shop_url: Callable[[str], bool] = lambda url: False,
        address_policy: AddressPolicy | None = None,
        lookup: Lookup = system_lookup,
        connect_timeout: float = 3.0,
        total_timeout: float = 5.0,
        max_redirects: int = 3,
    ) -> None:
        self.cache = cache
        self.hosts = shortener_hosts(hosts)
        self.is_shop_url = is_shop_url
        self.address_policy = address_policy or AddressPolicy()
        self.lookup = lookup
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects

    def __call__(self, urls: tuple[str, ...], text: str) -> tuple[str, ...]:
        short = self.short_links(urls, text)
        if not short:
            return urls
        added: list[str] = []
        for url in short[:MAX_LINKS_PER_POST]:
            target = self.resolve(url)
            if target is not None and target not in urls and target not in added:
                added.append(target)
        return (*urls, *added)

    def short_links(self, urls: Iterable[str], text: str) -> list[str]:
        """The post's links on a shortener host, each once, in the form the cache keys on."""
        found: list[str] = []
        for url in (*urls, *self._links_in_text(text)):
            key = self.cache_key(url)
            if key is not None and key not in found:
                found.append(key)
        return found

    def _links_in_text(self, text: str) -> list[str]:
        lowered = text.lower()
        if not any(host in lowered for host in self.hosts):
            return []  # the common case, answered without a regular expression
        return extract_urls(text, bare_host=lambda host: host.lower() in self.hosts)

    def cache_key(self, url: str) -> str | None:
        """`url` without its fragment and with its host lower-cased, if it is a short link
        we follow; None for any other link."""
        if len(url) > MAX_URL_LENGTH:
            return None
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return None
        host = parsed.host.lower().rstrip(".")
        if parsed.scheme not in ("http", "https") or parsed.userinfo or host not in self.hosts:
            return None
        return str(parsed.copy_with(host=host, fragment=None))

    def resolve(self, url: str) -> str | None:
        """Where short link `url` leads: from the cache, or followed now and cached."""
        cached = self.cache.lookup(url)
        if cached is not None:
            return cached.target
        outcome = self.follow(url)
        if outcome.problem is not None:
            log.info("short link %s not followed: %s", url, outcome.problem)
        self.cache.record(outcome)
        return outcome.target

    def follow(self, url: str) -> Resolution:
        """Walk `url`'s redirects now (no cache): the final URL, or the problem."""
        try:
            start = httpx.URL(url)
        except httpx.InvalidURL as error:  # e.g. 0177.0.0.1, an octal spelling of loopback
            return Resolution(url, None, f"refused: no usable URL ({error})")
        deadline = _Deadline(time.monotonic() + self.total_timeout)
        backend = _PinnedBackend(self.address_policy, self.lookup, deadline, self.connect_timeout)
        try:
            with httpcore.ConnectionPool(network_backend=backend, retries=0) as pool:
                return Resolution(url, self._walk(pool, start, deadline), None)
        except (_Stop, Refused) as stop:
            return Resolution(url, None, str(stop))
        except httpcore.TimeoutException:
            return Resolution(url, None, f"timed out (allowed {self.total_timeout:g} s)")
        except httpcore.ConnectError as error:
            return Resolution(url, None, f"could not connect ({error or 'refused'})")
        except (httpcore.ProtocolError, httpcore.NetworkError) as error:
            return Resolution(url, None, f"the server's answer was broken ({error})")
        except httpcore.UnsupportedProtocol as error:
            return Resolution(url, None, f"refused: {error}")
        except Exception as error:  # a stranger's link must never stop ingest
            log.exception("following short link %s failed unexpectedly", url)
            return Resolution(url, None, f"failed unexpectedly ({type(error).__name__})")

    def _walk(self, pool: httpcore.ConnectionPool, start: httpx.URL, deadline: _Deadline) -> str:
        current = start
        redirects = 0
        while True:
            status, location = self._ask(pool, current, deadline)
            if status not in REDIRECTS or location is None:
                if redirects == 0:
                    raise _Stop(f"the short link does not redirect (HTTP {status})")
                return str(current)
            redirects += 1
            if redirects > self.max_redirects:
                raise _Stop(f"more than {self.max_redirects} redirects")
            current = _next_url(current, location)
            if self.is_shop_url(str(current)):
                return str(current)  # the shop's own product link: nothing more to learn

    def _ask(
        self, pool: httpcore.ConnectionPool, url: httpx.URL, deadline: _Deadline
    ) -> tuple[int, str | None]:
        """(status, Location) for `url`: HEAD, then GET (body unread) if HEAD is refused."""
        target = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        headers = [(b"User-Agent", USER_AGENT), (b"Accept", b"*/*")]
        response = pool.request(
            "HEAD", target, headers=headers, extensions=self._timeouts(deadline)
        )
        if response.status < 400:
            return response.status, _location(response.headers)
        with pool.stream(
            "GET", target, headers=headers, extensions=self._timeouts(deadline)
        ) as answer:
            return answer.status, _location(answer.headers)

    def _timeouts(self, deadline: _Deadline) -> dict[str, Any]:
        left = deadline.clamp(None)
        return {
            "timeout": {
                "connect": min(self.connect_timeout, left),
                "read": left,
                "write": left,
                "pool": left,
            }
        }


def _location(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"location":
            try:
                return value.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise _Stop("the redirect's Location is not text") from None
    return None


def _next_url(current: httpx.URL, location: str) -> httpx.URL:
    """The redirect's target, if it is one we may go to."""
    if len(location) > MAX_URL_LENGTH:
        raise _Stop("the redirect's Location is too long")
    try:
        joined = current.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise _Stop(f"the redirect's Location is no URL ({error})") from None
    if joined.scheme not in ("http", "https"):
        raise _Stop(f"refused: a redirect to a {joined.scheme or 'relative'}: URL")
    if joined.userinfo:
        raise _Stop("refused: a redirect to a URL with credentials")
    if not joined.host:
        raise _Stop("the redirect's Location has no host")
    return joined


def shortener_hosts(hosts: Iterable[str]) -> frozenset[str]:
    """The configured shortener hosts as compared: lower case, no trailing dot, never t.co."""
    names = {host.strip().lower().rstrip(".") for host in hosts}
    return frozenset(name for name in names if name and name not in NEVER_FOLLOWED)
