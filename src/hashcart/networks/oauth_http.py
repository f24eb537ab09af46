"""Talking to OAuth servers, some of them named by a stranger: short timeouts, no redirects,
answers read up to a cap, and no private addresses. Shared by every network's sign-in
(networks/<network>/oauth.py). Random tokens and PKCE's S256 live in hashcart/pkce.py, named
here too, as they were defined here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from hashcart.networks.addresses import PublicOnlyTransport, non_public_host_reason
from hashcart.pkce import random_token as random_token
from hashcart.pkce import s256 as s256
from hashcart.ports import OAuthFailed, OAuthInputError

# Answers from servers a stranger named are read up to this size, then refused.
MAX_ANSWER_BYTES = 1 << 20
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "hashcart (account linking)"


def http_client(*, public_only: bool = False) -> httpx.Client:
    """A client for OAuth calls: short timeouts, no redirects followed (a server cannot send
    us somewhere else), a name that says who we are. `public_only` for servers a stranger
    named: it connects only to public addresses, the very ones it checked."""
    return httpx.Client(
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=PublicOnlyTransport() if public_only else None,
    )


def check_public_url(url: str, *, allow_private: bool) -> str:
    """Refuse a URL hashcart must not fetch: not https (http only when private servers are
    allowed, i.e. in tests), credentials in it, or a host that resolves to a private,
    loopback, link-local or otherwise non-public address. Returns the URL unchanged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise OAuthInputError(f"{url!r} is not a usable address.") from error
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes or not host:
        raise OAuthInputError(f"{url!r} is not an https address.")
    if parts.username is not None or parts.password is not None:
        raise OAuthInputError("Addresses with a user name or password in them are not used.")
    if allow_private:
        return url
    try:
        refused = non_public_host_reason(host, port or 443)
    except (OSError, UnicodeError) as error:
        raise OAuthInputError(f"The server {host!r} could not be found.") from error
    if refused is not None:
        raise OAuthInputError(
            f"The server {host!r} is on a private or local network address; "
            "hashcart only signs in with servers on the public internet."
        )
    return url


def read_json(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a server answered, within MAX_ANSWER_BYTES, else OAuthFailed.

    The response must have been opened with `stream=True` (so a huge answer is not read)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            response.close()
            raise OAuthFailed(f"{what} answered with more than we read.")
    try:
        value = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise OAuthFailed(f"{what} answered with something that is not JSON.") from error
    if not isinstance(value, dict):
        raise OAuthFailed(f"{what} answered with JSON that is not an object.")
    return value


def send(
    client: httpx.Client, request: httpx.Request, what: str
) -> tuple[httpx.Response, dict[str, Any]]:
    """Send a request and read its JSON answer (capped); network errors become OAuthFailed."""
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} could not be reached ({type(error).__name__}).") from error
    try:
        return response, read_json(response, what)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} broke off its answer ({type(error).__name__}).") from error
    finally:
        response.close()


def error_of(answer: Mapping[str, Any]) -> str:
    """A short, safe description of an OAuth error answer (never a token)."""
    error = answer.get("error")
    description = answer.get("error_description")
    text = str(error) if isinstance(error, str) else "an error"
    if isinstance(description, str) and description:
        text = f"{text}: {description}"
    return text[:200]
