"""Secrets at rest: sealed with token_key, unreadable without it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hashcart.config import Settings
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret


def test_sealed_value_opens_to_the_same_and_hides_the_token() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"access_token": "tok-very-secret", "expires": 7200})
    assert "tok-very-secret" not in sealed
    assert box.open(sealed) == {"access_token": "tok-very-secret", "expires": 7200}


def test_another_key_cannot_open_it() -> None:
    sealed = SecretBox(Fernet.generate_key()).seal({"a": 1})
    with pytest.raises(UnreadableSecret):
        SecretBox(Fernet.generate_key()).open(sealed)


def test_edited_data_is_refused() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"a": 1})
    with pytest.raises(UnreadableSecret):
        box.open(sealed[:-4] + "AAAA")


def test_without_token_key_the_error_says_how_to_make_one() -> None:
    with pytest.raises(NoTokenKey, match="HASHCART_TOKEN_KEY"):
        SecretBox.of(Settings(database_url="sqlite://"))


def test_a_malformed_key_is_a_clear_error() -> None:
    with pytest.raises(NoTokenKey, match="not a Fernet key"):
        SecretBox("short")
