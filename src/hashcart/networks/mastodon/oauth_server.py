"""Is the shopper's Mastodon server one hashcart can sign in with? Mastodon 4.3 or later.

hashcart signs in by authorization code with PKCE (S256) and registers one app with a list of
`redirect_uris`: both came with Mastodon 4.3 (docs.joinmastodon.org spec/oauth.md "PKCE ...
supported by Mastodon 4.3.0 and above"; methods/apps.md "4.3.0 - added support for multiple
`redirect_uris`"). An older server ignores `code_challenge`, so the sign-in would run without
the protection PKCE gives; it is refused instead, with its version named.

How to tell (methods/oauth.md, "Authorization server metadata"): 4.3 added
`GET /.well-known/oauth-authorization-server` (RFC 8414) with `code_challenge_methods_supported`;
"On Mastodon versions before 4.3.0, requesting this endpoint will result in a 404". The version
named in the error is the instance document's `version` (methods/instance.md), asked only
then: the docs call it brittle for deciding, so it only explains.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from hashcart.networks.oauth_http import read_json
from hashcart.ports import OAuthFailed

METADATA_PATH = "/.well-known/oauth-authorization-server"
# v2 since Mastodon 4.0; v1 before that (methods/instance.md).
INSTANCE_PATHS = ("/api/v2/instance", "/api/v1/instance")
NEEDED = "Mastodon 4.3 or later"
# A version as servers write it ("4.2.10", "4.2.8+glitch", "3.5.3-rc1"): shown to a shopper,
# so anything else is not repeated.
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+~_-]{0,39}")


def require_pkce(client: httpx.Client, server: str) -> None:
    """Return when `server` offers PKCE (S256) sign-in; else OAuthFailed naming its version."""
    metadata = _get(client, server + METADATA_PATH)
    if metadata is not None:
        methods = metadata.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" in methods:
            return
    version = server_version(client, server)
    runs = f"runs {version}" if version else "did not say which version it runs"
    raise OAuthFailed(
        f"That Mastodon server {runs}; hashcart signs in with {NEEDED} "
        "(PKCE sign-in and several redirect addresses). Ask its admins to upgrade."
    )


def server_version(client: httpx.Client, server: str) -> str | None:
    """The `version` the instance document states, when it is a readable version."""
    for path in INSTANCE_PATHS:
        try:
            instance = _get(client, server + path)
        except OAuthFailed:
            return None
        if instance is None:
            continue
        version = instance.get("version")
        if isinstance(version, str) and _VERSION.fullmatch(version.strip()):
            return version.strip()
        return None
    return None


def _get(client: httpx.Client, url: str) -> dict[str, Any] | None:
    """The JSON object at `url`; None when the server says it has none (404 or 410)."""
    what = "That Mastodon server"
    try:
        response = client.send(client.build_request("GET", url), stream=True)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} could not be reached ({type(error).__name__}).") from error
    try:
        if response.status_code in (404, 410):
            return None
        if response.status_code != 200:
            raise OAuthFailed(f"{what} answered {response.status_code} when asked how it signs in.")
        return read_json(response, what)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} broke off its answer ({type(error).__name__}).") from error
    finally:
        response.close()
