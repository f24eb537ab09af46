"""Fetching product pictures (ports.ImageFetcher): the catalog's `image_link`s are URLs a
feed names, so they are fetched like any place a stranger chose: http(s) only, public
addresses only (each redirect's target too: every connection goes through
addresses.PublicOnlyBackend, which connects to exactly the address it checked), a few
redirects at most, a size cap read as it streams, and a deadline for the whole answer.

`also_allowed` (the setting `image_fetch_allow_hosts`) names addresses allowed although not
public: for tests that serve pictures on loopback, never for a shop."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from hashcart.networks.addresses import IPAddress, PublicOnlyTransport, Refused
from hashcart.ports import ImageFetchFailed

USER_AGENT = "hashcart (product pictures)"
MAX_REDIRECTS = 3


class HttpImageFetcher:
    def __init__(
        self,
        *,
        max_bytes: int,
        timeout_seconds: float,
        also_allowed: frozenset[IPAddress] = frozenset(),
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.also_allowed = also_allowed
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        """One client for the fetcher's pictures: its TLS context is made once (about 0.1 s)
        and connections to one server are kept."""
        if self._client is None:
            self._client = httpx.Client(
                transport=PublicOnlyTransport(self.also_allowed),
                timeout=httpx.Timeout(self.timeout_seconds),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def fetch(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImageFetchFailed("not an http(s) address")
        if parts.username is not None or parts.password is not None:
            raise ImageFetchFailed("an address with a user name or password in it")
        deadline = time.monotonic() + self.timeout_seconds
        client = self._http()
        try:
            with client.stream("GET", url) as response:
                return self._read(response, deadline)
        except httpx.TooManyRedirects:
            raise ImageFetchFailed(f"more than {MAX_REDIRECTS} redirects") from None
        except httpx.TimeoutException:
            raise ImageFetchFailed(f"no answer within {self.timeout_seconds:g} seconds") from None
        except httpx.HTTPError as error:
            refused = _refusal(error)
            if refused is not None:
                raise ImageFetchFailed(f"private address ({refused})") from None
            raise ImageFetchFailed(
                f"could not be fetched ({type(error).__name__}: {error})"[:300]
            ) from None

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        if response.status_code != 200:
            raise ImageFetchFailed(f"the server answered {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageFetchFailed(f"larger than {self.max_bytes // (1024 * 1024)} MB")
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                raise ImageFetchFailed(f"larger than {self.max_bytes // (1024 * 1024)} MB")
            if time.monotonic() > deadline:
                raise ImageFetchFailed(f"no answer within {self.timeout_seconds:g} seconds")
        return bytes(body)


def _refusal(error: BaseException) -> str | None:
    """What PublicOnlyBackend refused, when that is why the request failed (httpx wraps
    httpcore's errors in its own): "10.0.0.1 resolves to 10.0.0.1 is private"."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, Refused):
            return str(seen).removeprefix("refused: ")
        seen = seen.__cause__ or seen.__context__
    return None
