"""Vendure's two GraphQL APIs over httpx: the Admin API (`/admin-api`) and the Shop API
(`/shop-api`). Vendure's sessions are bearer tokens: a session's token comes back in the
`vendure-auth-token` response header and goes back as `Authorization: Bearer <token>`
(https://docs.vendure.io/guides/core-concepts/auth/, "bearer" token method).

Two kinds of failure, as ports says: the server did not answer usefully (network, timeout,
5xx, 429) is StoreUnreachable; it answered with GraphQL `errors` is StoreRefused with its
message. Business errors come back as HTTP 200 data whose `__typename` ends in `Error`
(https://docs.vendure.io/guides/developer-guide/error-handling/): `business_error` turns
them into StoreRefused too."""

from __future__ import annotations

from typing import Any

import httpx

from hashcart.ports import StoreRefused, StoreUnreachable

TIMEOUT_SECONDS = 30.0
TOKEN_HEADER = "vendure-auth-token"


class VendureApi:
    """One API endpoint and one session (its token, once it has one)."""

    def __init__(
        self, endpoint: str, token: str | None = None, client: httpx.Client | None = None
    ) -> None:
        self.endpoint = endpoint
        self.token = token
        self.client = client or httpx.Client(timeout=TIMEOUT_SECONDS)

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        """The answer's `data`; StoreUnreachable / StoreRefused as the module says."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            answer = self.client.post(
                self.endpoint, json={"query": query, "variables": variables}, headers=headers
            )
        except httpx.HTTPError as error:
            raise StoreUnreachable(f"Vendure at {self.endpoint} did not answer: {error}") from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise StoreUnreachable(f"Vendure at {self.endpoint} answered {answer.status_code}")
        self.token = answer.headers.get(TOKEN_HEADER) or self.token
        try:
            body = answer.json()
        except ValueError:
            raise StoreUnreachable(
                f"Vendure at {self.endpoint} answered {answer.status_code} without JSON"
            ) from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise GraphQLRefusal(errors)
        if answer.status_code >= 400 or not isinstance(body.get("data"), dict):
            raise StoreRefused(f"Vendure at {self.endpoint} answered {answer.status_code}")
        data: dict[str, Any] = body["data"]
        return data


class GraphQLRefusal(StoreRefused):
    """A GraphQL `errors` answer; `codes` are their `extensions.code` (FORBIDDEN, ...)."""

    def __init__(self, errors: list[Any]) -> None:
        messages = [str(error.get("message", error)) for error in errors if error]
        super().__init__("; ".join(messages)[:500] or "Vendure refused the request")
        self.codes = {
            str(error.get("extensions", {}).get("code"))
            for error in errors
            if isinstance(error, dict)
        }


def business_error(result: Any) -> None:
    """StoreRefused with Vendure's own message when `result` is an ErrorResult."""
    if isinstance(result, dict) and str(result.get("__typename", "")).endswith("Error"):
        message = result.get("message") or result["__typename"]
        raise StoreRefused(f"{result['__typename']}: {message}")
