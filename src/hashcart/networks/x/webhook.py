"""X webhooks: answering the CRC challenge and checking the signature of every delivery.

The Account Activity API, the X Activity API and stream webhooks share one scheme
(docs.x.com/x-api/webhooks/quickstart, "How to build the CRC response" and "Signature
verification"): `sha256=` + Base64 of HMAC-SHA256 keyed with the app's **consumer secret**
(OAuth 1.0a "API Key Secret"), over the `crc_token` for the challenge and over the raw body
for the `x-twitter-webhooks-signature` header of a delivery. The OAuth 2.0 client secret is
not part of that scheme.

Both use the same key and the same construction, so an answer to the challenge is exactly
the signature of a delivery whose body is the token. Two guards keep them apart:

- only tokens shaped like X's are answered (`is_crc_token`): short, and made of Base64,
  Base64url or hex characters, so never `{`, quotes or whitespace;
- a body that the challenge would answer for is never taken as a delivery
  (`verify_signature`): X's deliveries are JSON objects, which need a `{`.

`X-Twitter-Webhooks-Signature-OAuth2` (keyed with the OAuth 2.0 client secret) is not in
X's docs; it shows up only in third-party code. It is checked when sent and a client secret
is held, on top of the documented header, and never counts instead of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping

CONSUMER_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
OAUTH2_SIGNATURE_HEADER = "x-twitter-webhooks-signature-oauth2"

# X's crc_token is a short opaque token. In the docs' example it is `challenge_string`
# (x-api/webhooks/quickstart.mdx); X's own sample code used a UUID
# (`9b4507b3-9040-4669-9ca3-6b94edb50553`, gist jcipriano/46c4b3f3…); X has been seen
# sending Base64 of a UUID, 48 characters (`M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0`).
# Base64 and Base64url letters (which cover hex and UUIDs) and padding, at most 64: room
# for 48 random bytes in Base64, far too little for any delivery.
MAX_CRC_TOKEN = 64
_CRC_TOKEN = re.compile(rf"[A-Za-z0-9+/_=-]{{1,{MAX_CRC_TOKEN}}}")


def is_crc_token(value: str) -> bool:
    """Whether `value` is shaped like X's `crc_token` (see `MAX_CRC_TOKEN`)."""
    return _CRC_TOKEN.fullmatch(value) is not None


def signature(message: bytes, secret: str) -> str:
    """`sha256=` + Base64(HMAC-SHA256(key=secret, msg=message)): X's one signature format."""
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def crc_response_token(crc_token: str, consumer_secret: str) -> str:
    """The `response_token` for `GET <webhook>?crc_token=…`, keyed with the consumer secret
    as X's docs say ("not your bearer token or access token", nor the OAuth 2.0 client
    secret). Refuses a token not shaped like X's: its answer could sign a delivery."""
    if not is_crc_token(crc_token):
        raise ValueError("not an X crc_token")
    return signature(crc_token.encode("ascii"), consumer_secret)


def _matches(body: bytes, given: str, secret: str) -> bool:
    expected = signature(body, secret).encode()
    return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))


def _could_be_a_crc_answer(body: bytes) -> bool:
    return len(body) <= MAX_CRC_TOKEN and body.isascii() and is_crc_token(body.decode("ascii"))


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    consumer_secret: str | None,
    client_secret: str | None,
) -> bool:
    """Whether `body` (the raw request body, as received) was signed by X for this app.

    `headers` must look names up case-insensitively (Starlette's and httpx's headers do).
    True only when the documented `x-twitter-webhooks-signature` verifies with the consumer
    secret and, if an `X-Twitter-Webhooks-Signature-OAuth2` header came too and a client
    secret is held, that one verifies as well. Never for a body the CRC challenge would
    have signed.
    """
    if not consumer_secret or _could_be_a_crc_answer(body):
        return False
    documented = headers.get(CONSUMER_SIGNATURE_HEADER)
    if documented is None or not _matches(body, documented, consumer_secret):
        return False
    oauth2 = headers.get(OAUTH2_SIGNATURE_HEADER)
    return oauth2 is None or not client_secret or _matches(body, oauth2, client_secret)
