"""Shop URL rules: which catalog product a link names, and which hosts are the shop's.

A link names a product when its canonical form (`urls.canonical_url`) equals the canonical
form of the product's catalog link, or, on a host of the shop, when its product key does:
`/dp/<ASIN>`, `/gp/product/<ASIN>`, `/gp/aw/d/<ASIN>`, or `/products/<handle>` with an
optional `?variant=<id>`. Lookalike hosts never match: host comparison is exact on the
canonical host (see `urls`), so `shop.example.evil.test`, `evil-shop.example`,
`shop.example@evil.test` and punycode homographs are simply other hosts.

A link is on a shop host only at the scheme's default port (`https://shop.example:443/`,
`http://shop.example:80/`) or at a port the shop's hosts name (`shop.example:8080`): the
same name on another port is another server, perhaps not the shop's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from hashcart.domain.urls import (
    CanonicalUrl,
    canonical_host,
    canonicalize,
    extract_urls,
    parse_port,
)

__all__ = [
    "Catalog",
    "CatalogItem",
    "ProductKey",
    "ShopHosts",
    "extract_urls",  # plain-text links live in `urls`; offered here beside the shop rules
    "key_of",
    "product_key",
    "shop_host_pattern",
]

_ASIN = re.compile(r"[A-Za-z0-9]{10}")
_ASIN_PATHS = (("dp",), ("gp", "product"), ("gp", "aw", "d"))
_LOCALE = re.compile(r"[a-z]{2}(?:-[a-z]{2,4})?")
_VARIANT_ID = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True, slots=True)
class ProductKey:
    """What identifies a product in a shop's URL, whatever page of the shop links it."""

    kind: Literal["asin", "handle"]
    value: str  # an upper-case ASIN, or a lower-case Shopify handle
    variant: str | None = None  # a Shopify `?variant=` id (digits); only with a handle


def product_key(url: str) -> ProductKey | None:
    """The product key of a link, or None when its path names no product."""
    canonical = canonicalize(url)
    return None if canonical is None else key_of(canonical)


def key_of(url: CanonicalUrl) -> ProductKey | None:
    """The product key of an already canonical link (see `product_key`)."""
    segments = url.path.split("/")[1:]
    lowered = [segment.lower() for segment in segments]
    for index in range(len(segments)):
        for marker in _ASIN_PATHS:
            end = index + len(marker)
            asin = segments[end] if end < len(segments) else ""
            if tuple(lowered[index:end]) == marker and _ASIN.fullmatch(asin):
                return ProductKey("asin", asin.upper())
    if _is_handle_path(lowered):
        handle = unquote(segments[-1]).lower()
        variant = url.param("variant")
        if variant is not None and not _VARIANT_ID.fullmatch(variant):
            variant = None
        return ProductKey("handle", handle, variant)
    return None


def _is_handle_path(lowered: Sequence[str]) -> bool:
    """`/products/<h>`, under a `/collections/<c>` and a market locale (`/en-ca`) or not."""
    if len(lowered) < 2 or lowered[-2] != "products" or not lowered[-1]:
        return False
    prefix = list(lowered[:-2])
    if prefix and _LOCALE.fullmatch(prefix[0]):
        prefix = prefix[1:]
    return not prefix or (len(prefix) == 2 and prefix[0] == "collections")


def _host_names(links: Iterable[CanonicalUrl | None]) -> list[str]:
    """The distinct hosts of usable links in first-seen order, as `name` or `name:port` (a
    port other than the scheme's default); IPv6 literals are no names and left out."""
    hosts: dict[str, None] = {}
    for link in links:
        if link is not None and not link.host.startswith("["):
            hosts.setdefault(link.host if link.port is None else f"{link.host}:{link.port}")
    return list(hosts)


class ShopHosts:
    """The shop's host names, compared exactly after canonicalisation, and their ports.

    `shop.example` also matches `www.shop.example`, `m.shop.example`, `SHOP.example`,
    `shop.example.` and nothing else: no other subdomain, suffix or lookalike. A link on
    it matches at the scheme's default port; `shop.example:8080` adds port 8080.
    """

    __slots__ = ("_ports", "names")

    def __init__(self, hosts: Iterable[str]) -> None:
        if isinstance(hosts, str):  # one name, not a sequence of one-letter names
            raise TypeError("ShopHosts takes an iterable of host names, not one string")
        ports: dict[str, set[int]] = {}
        for host in hosts:
            name_and_port = _name_and_port(host)
            if name_and_port is None:
                raise ValueError(f"not a host name: {host!r}")
            name, port = name_and_port
            named = ports.setdefault(name, set())
            if port is not None:
                named.add(port)
        self.names: frozenset[str] = frozenset(ports)
        self._ports = {name: frozenset(named) for name, named in ports.items()}

    @staticmethod
    def hosts_of(links: Iterable[str]) -> list[str]:
        """The distinct canonical hosts of `links` (a catalog's), in first-seen order: the
        name, or `name:port` for a link at another port than its scheme's default.

        Links that are no usable URL, and IPv6 literals (no shop's name), are left out.
        """
        return _host_names(canonicalize(link) for link in links)

    def matches(self, host: str) -> bool:
        if host in self.names:  # the common case: a host that is canonical already
            return True
        name = canonical_host(host)
        return name is not None and name in self.names

    def matches_url(self, url: str) -> bool:
        """True when `url` is a usable link on one of the shop's hosts and ports."""
        canonical = canonicalize(url)
        return canonical is not None and self.owns(canonical)

    def owns(self, url: CanonicalUrl) -> bool:
        """True when a canonical link is on a shop host, at its default or a named port."""
        ports = self._ports.get(url.host)
        return ports is not None and (url.port is None or url.port in ports)

    def __repr__(self) -> str:
        spelled = [f"{name}:{port}" for name, ports in self._ports.items() for port in ports]
        return f"ShopHosts({sorted([*self.names, *spelled])!r})"


def _name_and_port(host: str) -> tuple[str, int | None] | None:
    """A configured `name` or `name:port` in canonical form, or None if it is neither."""
    name, colon, port_text = host.rpartition(":")
    if not colon:
        name = host
    port = parse_port(port_text) if colon else None
    canonical = canonical_host(name)
    if canonical is None or (colon and port is None):
        return None
    return canonical, port


@dataclass(frozen=True, slots=True)
class CatalogItem:
    product_id: str
    link: str


class Catalog:
    """The shop's products indexed by link and product key; built once, then only read.

    `shop_hosts` are the shop's hosts (a `ShopHosts`, or the configured names); when there
    are none, the hosts of the catalog's own links are the shop's. Items whose link is not
    a usable URL are kept in `rejected` (so the caller can report them) and never match.
    """

    __slots__ = ("_by_address", "_by_asin", "_by_handle", "_by_variant", "hosts", "rejected")

    def __init__(
        self, items: Iterable[CatalogItem], shop_hosts: ShopHosts | Iterable[str] = ()
    ) -> None:
        self._by_address: dict[str, str] = {}
        self._by_asin: dict[str, str] = {}
        self._by_variant: dict[tuple[str, str], str] = {}
        self._by_handle: dict[str, str] = {}
        handle_without_variant: dict[str, str] = {}
        rejected: list[CatalogItem] = []
        links: list[CanonicalUrl] = []
        for item in items:
            canonical = canonicalize(item.link)
            if canonical is None:
                rejected.append(item)
                continue
            links.append(canonical)
            self._by_address.setdefault(canonical.address, item.product_id)
            key = key_of(canonical)
            if key is None:
                continue
            if key.kind == "asin":
                self._by_asin.setdefault(key.value, item.product_id)
                continue
            self._by_handle.setdefault(key.value, item.product_id)
            if key.variant is None:
                handle_without_variant.setdefault(key.value, item.product_id)
            else:
                self._by_variant.setdefault((key.value, key.variant), item.product_id)
        # A handle names its variant-less item when the catalog has one, else its first.
        self._by_handle.update(handle_without_variant)
        if not isinstance(shop_hosts, ShopHosts):
            shop_hosts = ShopHosts(tuple(shop_hosts) or _host_names(links))
        self.hosts = shop_hosts
        self.rejected: tuple[CatalogItem, ...] = tuple(rejected)

    def resolve(self, url: str) -> str | None:
        """The product id a link names, or None (not a link, not the shop's, no such product)."""
        canonical = canonicalize(url)
        if canonical is None:
            return None
        product_id = self._by_address.get(canonical.address)
        if product_id is not None or not self.hosts.owns(canonical):
            return product_id
        key = key_of(canonical)
        if key is None:
            return None
        if key.kind == "asin":
            return self._by_asin.get(key.value)
        if key.variant is not None:
            product_id = self._by_variant.get((key.value, key.variant))
        return self._by_handle.get(key.value) if product_id is None else product_id

    def resolve_all(self, urls: Iterable[str]) -> list[str]:
        """The distinct products the links name, in the order they first appear.

        The position a reply picks (`#cart 2`) counts in this list.
        """
        found: dict[str, None] = {}
        for url in urls:
            product_id = self.resolve(url)
            if product_id is not None:
                found.setdefault(product_id)
        return list(found)


def shop_host_pattern(hosts: ShopHosts) -> re.Pattern[bytes]:
    """A byte pattern found in every JSON-encoded post that carries a link on a shop host.

    A prefilter may skip, unread, every payload where `search` finds nothing.

    Why it holds: a host the shop accepts (see `urls`) writes each ASCII label of the shop
    host literally, up to letter case, with ASCII dots between labels; only punycode
    (IDN) labels may be spelt otherwise (as Unicode, escaped, decomposed). JSON encoders
    escape `"`, `\\`, control characters, optionally `/`, non-ASCII and `<>&`, never
    letters, digits, `-`, `_` or `.`. So the longest run of ASCII labels of each shop host,
    with the dots that join it to its IDN neighbours, is in the payload in some letter
    case. The pattern matches that run case-insensitively, and starts with its first dot
    as a literal byte so that `re` can use its fast literal-prefix scan. Not covered:
    a payload that escapes ASCII letters as `\\u00XX` (no encoder we read does), and a
    host made only of IDN labels (then the pattern matches every payload).
    """
    runs = {_longest_ascii_run(name) for name in hosts.names}
    if None in runs:
        return re.compile(b"")
    alternatives = sorted(run.encode("ascii") for run in runs if run is not None)
    if not alternatives:
        # No shop host: no link can be the shop's. A raw NUL byte never occurs in JSON, and a
        # literal pattern is scanned at memchr speed (an empty `(?!)` is tried at every byte).
        return re.compile(b"\x00")
    if all(b"." in run for run in alternatives):
        parts = []
        for run in alternatives:
            before, _, after = run.partition(b".")
            behind = b"(?<=(?i:" + re.escape(before) + rb")\.)" if before else b""
            parts.append(behind + b"(?i:" + re.escape(after) + b")")
        return re.compile(rb"\.(?:" + b"|".join(parts) + b")")
    return re.compile(b"(?i:" + b"|".join(re.escape(run) for run in alternatives) + b")")


def _longest_ascii_run(name: str) -> str | None:
    """The longest dot-joined run of non-IDN labels, with its dots to IDN neighbours."""
    labels = name.split(".")
    best = ""
    start = 0
    for end in range(len(labels) + 1):
        if end < len(labels) and not labels[end].startswith("xn--"):
            continue
        if end > start:
            run = ("." if start else "") + ".".join(labels[start:end])
            run += "." if end < len(labels) else ""
            best = max(best, run, key=len)
        start = end + 1
    return best or None
