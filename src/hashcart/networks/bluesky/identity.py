"""Who a DID is and where its repository lives: DID → PDS endpoint and signing key, handle →
DID, cached in memory for a while.

A DID names an account for good; the DID document says which PDS holds its repository (the
`#atproto_pds` service) and which key signs its commits (the `#atproto` verification
method). did:plc documents come from the PLC directory (`{plc_url}/{did}`), did:web ones
from `https://<host>/.well-known/did.json`. Both are untrusted text: a PDS endpoint that is
not http(s), or that points into a private network, is refused unless the PLC directory we
were configured with is itself on one (a test network on loopback, a private deployment).

The PLC directory is the operator's choice; a did:web's host and a document's PDS are the
choice of whoever wrote the DID, so they are called through `named_hosts`: the public-only
client (networks/addresses: public addresses only, connected to the very one checked), the
same private-network exception aside. The atproto DID spec allows `localhost` and a port in
a did:web "only in testing and development environments" (https://atproto.com/specs/did,
"did:web in AT Protocol"). A refused place is a DID not found, with the reason.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from hashcart.clock import Clock
from hashcart.networks.addresses import non_public_host_reason, non_public_reason, parse_address
from hashcart.networks.bluesky.xrpc import (
    AddressRefused,
    BlueskyError,
    BlueskyUnreachable,
    Xrpc,
    XrpcError,
    public_only,
)

_PLC = re.compile(r"did:plc:[a-z2-7]{24}")
_WEB = re.compile(r"did:web:[A-Za-z0-9.\-]+(?:%3[Aa][0-9]{1,5})?")
_HANDLE = re.compile(
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
DEFAULT_TTL = timedelta(hours=1)
MAX_ENTRIES = 10_000


class IdentityNotFound(BlueskyError):
    """The DID or handle does not exist, or its document names no usable PDS."""


@dataclass(frozen=True)
class Identity:
    did: str
    pds: str  # the repository's host, e.g. https://morel.us-east.host.bsky.network
    # The `#atproto` verification method: its publicKeyMultibase and type ("Multikey", or a
    # legacy "EcdsaSecp256k1VerificationKey2019"), which says how to read the key.
    signing_key: str | None = None
    signing_key_type: str | None = None


def is_did(value: str) -> bool:
    return _PLC.fullmatch(value) is not None or _WEB.fullmatch(value) is not None


def is_handle(value: str) -> bool:
    return len(value) <= 253 and _HANDLE.fullmatch(value) is not None


def is_private_url(url: str) -> bool:
    """Whether `url`'s host is a loopback, private or link-local address or name."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return non_public_reason(parse_address(host)) is not None
    except ValueError:
        return False


class IdentityResolver:
    """DID documents (cached `ttl`, at most MAX_ENTRIES) and handle lookups; thread-safe."""

    def __init__(
        self,
        xrpc: Xrpc,
        plc_url: str,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_TTL,
        allow_private: bool | None = None,
        did_web_scheme: str = "https",
    ) -> None:
        self.xrpc = xrpc  # the PLC directory, and services the operator named (resolveHandle)
        self.plc_url = plc_url.rstrip("/")
        self.clock = clock
        self.ttl = ttl
        self.allow_private = is_private_url(plc_url) if allow_private is None else allow_private
        # For the places a DID names (its did:web host, its PDS): a stranger's choice.
        self.named_hosts = xrpc if self.allow_private else public_only()
        # did:web documents are https only; a loopback test may serve them over http.
        self.did_web_scheme = did_web_scheme
        self._cache: OrderedDict[str, tuple[datetime, Identity]] = OrderedDict()
        self._lock = threading.Lock()

    def identity(self, did: str, *, fresh: bool = False) -> Identity:
        """The DID's PDS and key; `fresh` skips the cache (a key may have rotated).
        Raises IdentityNotFound or BlueskyUnreachable."""
        now = self.clock.now()
        if not fresh:
            with self._lock:
                cached = self._cache.get(did)
                if cached is not None and cached[0] > now:
                    self._cache.move_to_end(did)
                    return cached[1]
        found = self._resolve(did)
        with self._lock:
            self._cache[did] = (now + self.ttl, found)
            self._cache.move_to_end(did)
            while len(self._cache) > MAX_ENTRIES:
                self._cache.popitem(last=False)
        return found

    def pds_of(self, did: str) -> str:
        return self.identity(did).pds

    def forget(self, did: str) -> None:
        """Drop what we know of `did` (the firehose said its identity changed)."""
        with self._lock:
            self._cache.pop(did, None)

    def did_of_handle(self, handle: str, service: str) -> str:
        """The DID a handle stands for, asked of `service` (a PDS or AppView) by
        `com.atproto.identity.resolveHandle`."""
        if not is_handle(handle):
            raise IdentityNotFound(f"{handle!r} is not a handle")
        try:
            answer = self.xrpc.query(
                service, "com.atproto.identity.resolveHandle", {"handle": handle}
            )
        except XrpcError as error:
            if error.status in (400, 404):
                raise IdentityNotFound(f"handle {handle} not found") from None
            raise
        did = answer.get("did")
        if not isinstance(did, str) or not is_did(did):
            raise IdentityNotFound(f"handle {handle} resolved to no DID")
        return did

    def _resolve(self, did: str) -> Identity:
        if _PLC.fullmatch(did):
            directory = self.xrpc
            url = f"{self.plc_url}/{did}"
        elif _WEB.fullmatch(did):
            directory = self.named_hosts
            host = unquote(did.removeprefix("did:web:"))
            url = f"{self.did_web_scheme}://{host}/.well-known/did.json"
        else:
            raise IdentityNotFound(f"{did!r} is not a did:plc or did:web")
        try:
            document = directory.get_json(url)
        except AddressRefused as error:
            raise IdentityNotFound(f"{did} is not asked: {error}") from None
        except XrpcError as error:
            if error.status in (404, 410):
                raise IdentityNotFound(f"{did} is not known to its directory") from None
            raise BlueskyUnreachable(f"resolving {did}: HTTP {error.status}") from None
        if document.get("id") != did:
            raise IdentityNotFound(f"the document for {did} names another DID")
        pds = _service_endpoint(document, did)
        if pds is None:
            raise IdentityNotFound(f"{did} names no PDS")
        self._check_endpoint(did, pds)
        key, key_type = _signing_key(document, did)
        return Identity(did, pds.rstrip("/"), key, key_type)

    def _check_endpoint(self, did: str, url: str) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise IdentityNotFound(f"{did} names an unusable PDS address") from None
        schemes = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme not in schemes or not parts.hostname or parts.username or parts.query:
            raise IdentityNotFound(f"{did} names an unusable PDS address")
        if self.allow_private:
            return
        if is_private_url(url) or not _resolves_public(parts.hostname, port or 443):
            raise IdentityNotFound(f"{did} names a PDS on a private address")


def _resolves_public(host: str, port: int) -> bool:
    try:
        return non_public_host_reason(host, port) is None
    except (OSError, UnicodeError):
        return True  # unresolvable now: the call itself will fail as unreachable


def _matches(entry_id: object, did: str, fragment: str) -> bool:
    return entry_id in (fragment, f"{did}{fragment}")


def _service_endpoint(document: dict[str, Any], did: str) -> str | None:
    services = document.get("service")
    for service in services if isinstance(services, list) else ():
        if (
            isinstance(service, dict)
            and _matches(service.get("id"), did, "#atproto_pds")
            and isinstance(service.get("serviceEndpoint"), str)
        ):
            endpoint: str = service["serviceEndpoint"]
            return endpoint
    return None


def _signing_key(document: dict[str, Any], did: str) -> tuple[str | None, str | None]:
    methods = document.get("verificationMethod")
    for method in methods if isinstance(methods, list) else ():
        if (
            isinstance(method, dict)
            and _matches(method.get("id"), did, "#atproto")
            and isinstance(method.get("publicKeyMultibase"), str)
        ):
            key_type = method.get("type")
            return method["publicKeyMultibase"], key_type if isinstance(key_type, str) else None
    return None, None
