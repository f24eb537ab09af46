"""X webhook signatures and the CRC answer, against the published vectors.

What X documents (docs.x.com/x-api/webhooks/quickstart, "How to build the CRC response",
"Signature verification"): the consumer secret keys both the CRC answer and the one
`x-twitter-webhooks-signature` header. The `-OAuth2` header is not documented; it may only
come on top of the documented one."""

from __future__ import annotations

import httpx
import pytest

from hashcart.networks.x.webhook import (
    CONSUMER_SIGNATURE_HEADER,
    OAUTH2_SIGNATURE_HEADER,
    crc_response_token,
    signature,
    verify_signature,
)

# xdevplatform/autohook test/signature.js (consumer secret "test").
FORM_BODY = b"test=1&other_test=2"
FORM_SIGNATURE = "sha256=25Cu3iwbbiqBTwQRzcKJZwisjf736V2Q8UaTlkfLSoc="
JSON_BODY = b'{"test_number":1,"test_string":"two"}'
JSON_SIGNATURE = "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="
# The CRC example of X's developer relations (gist jcipriano/46c4b3f3…).
CRC_SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
CRC_TOKEN = "9b4507b3-9040-4669-9ca3-6b94edb50553"
CRC_ANSWER = "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
CLIENT_SECRET = "oauth2-client-secret"


def test_the_published_body_signatures_are_reproduced() -> None:
    assert signature(FORM_BODY, "test") == FORM_SIGNATURE
    assert signature(JSON_BODY, "test") == JSON_SIGNATURE


def test_the_published_crc_answer_is_reproduced() -> None:
    assert crc_response_token(CRC_TOKEN, CRC_SECRET) == CRC_ANSWER


def test_the_crc_answer_is_refused_for_anything_a_delivery_could_be() -> None:
    # Keyed and built like a delivery signature, the answer for a JSON body would sign it.
    with pytest.raises(ValueError):
        crc_response_token('{"for_user_id":"2244994945"}', CRC_SECRET)


def test_a_body_the_crc_would_answer_for_never_verifies_as_a_delivery() -> None:
    body = CRC_TOKEN.encode()
    headers = httpx.Headers({CONSUMER_SIGNATURE_HEADER: CRC_ANSWER})
    assert not verify_signature(body, headers, CRC_SECRET, None)


def test_a_delivery_signed_with_the_consumer_secret_passes() -> None:
    headers = httpx.Headers({"X-Twitter-Webhooks-Signature": FORM_SIGNATURE})
    assert verify_signature(FORM_BODY, headers, "test", None)


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = httpx.Headers({CONSUMER_SIGNATURE_HEADER.upper(): JSON_SIGNATURE})
    assert verify_signature(JSON_BODY, headers, "test", None)


def test_a_changed_body_or_a_wrong_secret_fails() -> None:
    headers = httpx.Headers({CONSUMER_SIGNATURE_HEADER: FORM_SIGNATURE})
    assert not verify_signature(FORM_BODY + b" ", headers, "test", None)
    assert not verify_signature(FORM_BODY, headers, "not-the-secret", None)


def test_a_delivery_without_any_signature_fails() -> None:
    assert not verify_signature(FORM_BODY, httpx.Headers(), "test", CLIENT_SECRET)


def test_the_oauth2_header_alone_is_refused() -> None:
    signed = signature(JSON_BODY, CLIENT_SECRET)
    headers = httpx.Headers({"X-Twitter-Webhooks-Signature-OAuth2": signed})
    assert not verify_signature(JSON_BODY, headers, "test", CLIENT_SECRET)
    assert not verify_signature(JSON_BODY, headers, None, CLIENT_SECRET)


def test_beside_the_documented_header_the_oauth2_one_is_checked_with_the_client_secret() -> None:
    # Keyed with the consumer secret it is not the OAuth 2.0 signature.
    wrong = httpx.Headers(
        {OAUTH2_SIGNATURE_HEADER: JSON_SIGNATURE, CONSUMER_SIGNATURE_HEADER: JSON_SIGNATURE}
    )
    assert not verify_signature(JSON_BODY, wrong, "test", CLIENT_SECRET)


def test_every_header_we_can_check_must_verify() -> None:
    good_oauth2 = signature(JSON_BODY, CLIENT_SECRET)
    headers = httpx.Headers(
        {OAUTH2_SIGNATURE_HEADER: good_oauth2, CONSUMER_SIGNATURE_HEADER: "sha256=AAAA"}
    )
    assert not verify_signature(JSON_BODY, headers, "test", CLIENT_SECRET)
    both_good = httpx.Headers(
        {OAUTH2_SIGNATURE_HEADER: good_oauth2, CONSUMER_SIGNATURE_HEADER: JSON_SIGNATURE}
    )
    assert verify_signature(JSON_BODY, both_good, "test", CLIENT_SECRET)


def test_a_header_we_hold_no_secret_for_does_not_count_as_verified() -> None:
    only_oauth2 = httpx.Headers({OAUTH2_SIGNATURE_HEADER: signature(JSON_BODY, CLIENT_SECRET)})
    assert not verify_signature(JSON_BODY, only_oauth2, "test", None)
    # ...but beside a consumer signature that verifies, it does not spoil the delivery.
    both = httpx.Headers(
        {OAUTH2_SIGNATURE_HEADER: "sha256=unknowable", CONSUMER_SIGNATURE_HEADER: JSON_SIGNATURE}
    )
    assert verify_signature(JSON_BODY, both, "test", None)


def test_a_signature_header_with_non_ascii_text_fails_cleanly() -> None:
    headers = {CONSUMER_SIGNATURE_HEADER: "sha256=ü"}
    assert not verify_signature(JSON_BODY, headers, "test", None)
