"""One GraphQL endpoint of the shop (Admin or Storefront), asked over httpx: what it answers
becomes data, `StoreRefused` (the store said no) or `StoreUnreachable` (nothing is known),
and a throttled answer is asked again after the wait it names, a bounded number of times.

Shopify answers GraphQL with HTTP 200 and `data` / `errors` / `extensions`
(https://shopify.dev/docs/api/admin-graphql#status-and-error-codes); a bad token is a 401 and
a missing scope a 403, an unknown shop a 404, its own trouble a 5xx."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hashcart.ports import StoreRefused, StoreUnreachable
from hashcart.stores.shopify import throttle

# How the client waits between attempts: time.sleep in production; tests pass a recorder
# that moves their clock instead.
Sleep = Callable[[float], None]

# Attempts of one request before a throttled shop is given up on (StoreUnreachable).
DEFAULT_ATTEMPTS = 5
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Endpoint:
    url: str
    headers: Mapping[str, str]


class GraphQL:
    """Runs documents against one endpoint through `http`, waiting with `sleep`."""

    def __init__(
        self,
        endpoint: Endpoint,
        http: httpx.Client,
        sleep: Sleep,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.endpoint = endpoint
        self.http = http
        self.sleep = sleep
        self.attempts = attempts

    def run(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The answer's `data`, once the shop is not throttling."""
        for attempt in range(1, self.attempts + 1):
            wait, data = self._ask(document, variables)
            if data is not None:
                return data
            if attempt < self.attempts:
                self.sleep(wait)
        raise StoreUnreachable(f"Shopify kept throttling: gave up after {self.attempts} attempts")

    def _ask(
        self, document: str, variables: Mapping[str, Any]
    ) -> tuple[float, dict[str, Any] | None]:
        """(0, data) when answered; (seconds to wait, None) when throttled."""
        try:
            response = self.http.post(
                self.endpoint.url,
                json={"query": document, "variables": dict(variables)},
                headers=dict(self.endpoint.headers),
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as failure:
            raise StoreUnreachable(f"Shopify did not answer: {type(failure).__name__}") from None
        status = response.status_code
        if status == 429:
            return throttle.wait_for_retry_after(response.headers.get("Retry-After")), None
        if status >= 500:
            raise StoreUnreachable(f"Shopify answered {status}")
        body = _json(response)
        if status != 200:
            raise StoreRefused(f"Shopify answered {status}: {_messages(body) or 'no reason'}")
        errors = body.get("errors")
        if throttle.is_throttled(errors):
            return throttle.wait_for_cost(body.get("extensions")), None
        if errors:
            raise StoreRefused(f"Shopify refused: {_messages(body)}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise StoreUnreachable("Shopify's answer had no data")
        return 0.0, data


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code == 200:
            raise StoreUnreachable("Shopify's answer was not a GraphQL document")
        return {}
    return body


def _messages(body: Mapping[str, Any]) -> str:
    """The errors' own words: a list of `{message}` objects, or one string (401s)."""
    errors = body.get("errors")
    if isinstance(errors, str):
        return errors[:500]
    words = (
        [
            str(error.get("message"))
            for error in errors or ()
            if isinstance(error, Mapping) and error.get("message")
        ]
        if isinstance(errors, list)
        else []
    )
    return "; ".join(words)[:500]
