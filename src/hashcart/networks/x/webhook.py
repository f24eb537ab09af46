"""X webhooks: answering the CRC challenge and checking the signature of every delivery.

The Account Activity API, the X Activity API and stream webhooks share one scheme
(docs.x.com/x-api/webhooks/introduction, "Signature headers"): `sha256=` + Base64 of
HMAC-SHA256 over the raw body (or, for the challenge, over the `crc_token`). Two keys exist:

- `x-twitter-webhooks-signature` is keyed with the app's OAuth 1.0a consumer secret;
- `X-Twitter-Webhooks-Signature-OAuth2` with its OAuth 2.0 client secret ("Recommended.
  Verify this header when present"). An app with only a client secret gets only this one;
  an app with both may get both.

A delivery passes when at least one signature header is present, every present header we
hold a secret for verifies, and at least one of them did. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

CONSUMER_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
OAUTH2_SIGNATURE_HEADER = "x-twitter-webhooks-signature-oauth2"


def signature(message: bytes, secret: str) -> str:
    """`sha256=` + Base64(HMAC-SHA256(key=secret, msg=message)): X's one signature format."""
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def crc_secret(consumer_secret: str | None, client_secret: str | None) -> str | None:
    """The secret that answers X's challenge: the OAuth 2.0 client secret when the app has
    one, else the OAuth 1.0a consumer secret. X's docs say to "generate it with the OAuth
    2.0 client secret when available, or with the OAuth 1.0 consumer secret"; an app set
    up with both must therefore answer with the client secret. None when neither is set."""
    return client_secret or consumer_secret or None


def crc_response_token(crc_token: str, secret: str) -> str:
    """The `response_token` for `GET <webhook>?crc_token=…` (key: see `crc_secret`)."""
    return signature(crc_token.encode(), secret)


def _matches(body: bytes, given: str, secret: str) -> bool:
    expected = signature(body, secret).encode()
    return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    consumer_secret: str | None,
    client_secret: str | None,
) -> bool:
    """Whether `body` (the raw request body, as received) was signed by X for this app.

    `headers` must look names up case-insensitively (Starlette's and httpx's headers do).
    False when no signature header is present, when a header we hold the secret for does
    not verify, or when none of the present headers could be checked with a secret we hold.
    """
    checks = (
        (headers.get(OAUTH2_SIGNATURE_HEADER), client_secret),
        (headers.get(CONSUMER_SIGNATURE_HEADER), consumer_secret),
    )
    verified = False
    for given, secret in checks:
        if given is None or not secret:
            continue
        if not _matches(body, given, secret):
            return False
        verified = True
    return verified
