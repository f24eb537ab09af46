"""Calling AT Protocol services over HTTP (XRPC), sync httpx.

Every call has a timeout and reads at most MAX_ANSWER_BYTES, and every failure is one of two
typed exceptions: `BlueskyUnreachable` (no usable answer: network, timeout, an answer too
large or not JSON; `AddressRefused` when the address is one we never call) or `XrpcError`
(the service answered with an error: the status, the XRPC `error` name and `message`, and
the rate-limit headers; never a token). The streams are websockets and live in
`jetstream.py` and `firehose.py`.

Places a stranger chose (a did:web host, the PDS a DID document names) are called through
`public_only()`, whose connections go only to public addresses (networks/addresses).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import httpx
import msgspec

from hashcart.errors import NetworkApiError
from hashcart.networks.addresses import PublicOnlyTransport, Refused
from hashcart.networks.bluesky.dpop import DPoPBinding
from hashcart.networks.rate_limits import retry_after

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A record, a session or a DID document is a few kB: anything past this is not an answer.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# The answer headers kept on an error: when to call again (the PDS's `ratelimit-*`).
_KEPT_HEADERS = (
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "retry-after",
)
# How much of a service's error text is kept: it ends up in logs and the console.
_MAX_MESSAGE = 300

# Query parameters: a mapping, or pairs when a name repeats (an XRPC array parameter such as
# getConvoForMembers' `members` is the name once per value).
Params = Mapping[str, str] | list[tuple[str, str | int | float | bool | None]]


class BlueskyError(NetworkApiError):
    """Any failed call to a Bluesky service."""


class BlueskyUnreachable(BlueskyError):
    """No usable answer (refused, reset, timed out, oversized, not JSON): try again later."""


class AddressRefused(BlueskyUnreachable):
    """The address is one we never call: no usable URL, or a host on a non-public address.
    Asking again will not help; it is a BlueskyUnreachable all the same, so a caller that
    knows no better counts it as no answer rather than failing."""


class XrpcError(BlueskyError):
    """The service answered with an error status and (usually) an XRPC error body."""

    def __init__(
        self,
        status: int,
        error: str = "",
        message: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})
        # Whether the answer brought a new DPoP nonce (a `use_dpop_nonce` is then retried).
        self.nonce_learned = False
        super().__init__(f"HTTP {status} {error}: {message}".strip().rstrip(":"))

    def retry_at(self, now: datetime) -> datetime | None:
        """When the service says to call again, or None when it does not say."""
        return retry_after(self.headers, now)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.error == "RateLimitExceeded"


class _ErrorBody(msgspec.Struct):
    error: str = ""
    message: str = ""


def _clean(text: object) -> str:
    return " ".join(str(text).split())[:_MAX_MESSAGE]


def new_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client for Bluesky calls: timeouts, no redirects (an answer cannot send our
    token elsewhere), a name that says who we are."""
    return httpx.Client(
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": "hashcart"},
        transport=transport,
    )


class Xrpc:
    """XRPC queries (GET) and procedures (POST) against any service's base URL."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def query(
        self,
        service: str,
        nsid: str,
        params: Params | None = None,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        dpop: DPoPBinding | None = None,
    ) -> dict[str, Any]:
        return self._call(
            "GET", _endpoint(service, nsid), params=params, token=token, extra=headers, dpop=dpop
        )

    def procedure(
        self,
        service: str,
        nsid: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        dpop: DPoPBinding | None = None,
    ) -> dict[str, Any]:
        return self._call(
            "POST", _endpoint(service, nsid), body=body, token=token, extra=headers, dpop=dpop
        )

    def get_json(self, url: str) -> dict[str, Any]:
        """A plain JSON document (a DID document from PLC or did:web)."""
        return self._call("GET", url)

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
        extra: Mapping[str, str] | None = None,
        dpop: DPoPBinding | None = None,
    ) -> dict[str, Any]:
        try:
            return self._call_once(method, url, params, body, token, extra, dpop)
        except XrpcError as error:
            # A DPoP-bound token (OAuth): the PDS asks for its nonce once (RFC 9449 §9).
            if dpop is None or error.error != "use_dpop_nonce" or not error.nonce_learned:
                raise
        return self._call_once(method, url, params, body, token, extra, dpop)

    def _call_once(
        self,
        method: str,
        url: str,
        params: Params | None,
        body: Mapping[str, Any] | None,
        token: str | None,
        extra: Mapping[str, str] | None,
        dpop: DPoPBinding | None,
    ) -> dict[str, Any]:
        # `extra` first: the caller may add a header (atproto-proxy), never replace ours.
        headers = {**(extra or {}), "Accept": "application/json"}
        if token is not None and dpop is not None:
            headers.update(dpop.headers(method, url, token))
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = msgspec.json.encode(body)
        try:
            with self.http.stream(
                method, url, params=params, content=content, headers=headers
            ) as response:
                raw = _read_capped(response)
        except _Oversized:
            raise BlueskyUnreachable(f"{method} {_safe(url)}: answer too large") from None
        except httpx.InvalidURL as error:  # e.g. a host 0177.0.0.1 (octal), taken from a DID
            raise AddressRefused(f"{method} {_safe(url)}: no usable URL ({error})") from None
        except httpx.HTTPError as error:
            if isinstance(error.__cause__, Refused):  # networks/addresses said why
                raise AddressRefused(f"{method} {_safe(url)}: {error.__cause__}") from None
            # The message names the URL and the kind of failure; never the headers.
            raise BlueskyUnreachable(f"{method} {_safe(url)}: {type(error).__name__}") from None
        learned = dpop is not None and dpop.learn(response.headers)
        if response.status_code >= 400:
            refused = _error_of(response, raw)
            refused.nonce_learned = learned
            raise refused
        if not raw:
            return {}
        try:
            value = msgspec.json.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise BlueskyUnreachable(f"{method} {_safe(url)}: answer is not JSON") from None
        if not isinstance(value, dict):
            raise BlueskyUnreachable(f"{method} {_safe(url)}: answer is not a JSON object")
        return value


@cache
def public_only() -> Xrpc:
    """The one (shared, thread-safe) Xrpc for places a stranger chose: it connects only to
    public addresses, and to exactly the address it checked (no DNS rebinding)."""
    return Xrpc(new_client(PublicOnlyTransport()))


def _endpoint(service: str, nsid: str) -> str:
    return f"{service.rstrip('/')}/xrpc/{nsid}"


def _safe(url: str) -> str:
    """The URL without its query (which can carry handles or cursors, never needed in logs)."""
    return url.split("?", 1)[0]


class _Oversized(Exception):
    pass


def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            raise _Oversized
    return bytes(body)


def _error_of(response: httpx.Response, raw: bytes) -> XrpcError:
    kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    try:
        body = msgspec.json.decode(raw, type=_ErrorBody)
    except (msgspec.DecodeError, UnicodeDecodeError):
        body = _ErrorBody()
    return XrpcError(response.status_code, _clean(body.error), _clean(body.message), kept)
