"""X's settings model: the fields the console's Networks card shows, secrets typed SecretStr.

The values are `Settings` fields of the same names (documented settings, README "Live
networks"); this model says which of them are X's, in the order the card shows them."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator

_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_USER_ID = re.compile(r"[0-9]{1,19}")


class XSettings(BaseModel):
    x_shop_handle: str | None = Field(
        None, title="Shop handle", description="The shop's X handle, without “@”."
    )
    x_shop_user_id: str | None = Field(
        None, title="Shop user id", description="The shop account's numeric id."
    )
    x_consumer_secret: SecretStr | None = Field(
        None,
        title="API key secret (consumer secret)",
        description="Signs webhook deliveries and the CRC check.",
    )
    # No secret to X (it is in every authorize URL), but the console keeps it sealed with
    # the client secret it goes with.
    x_client_id: SecretStr | None = Field(
        None,
        title="OAuth 2.0 client id",
        description="Shoppers link their X account with it.",
    )
    x_client_secret: SecretStr | None = Field(
        None,
        title="OAuth 2.0 client secret",
        description=(
            "Shopper linking. Not a webhook secret: X signs webhooks with the consumer secret."
        ),
    )
    x_bearer_token: SecretStr | None = Field(
        None,
        title="App bearer token",
        description="Filtered stream and looking up parent posts.",
    )
    x_access_token: SecretStr | None = Field(
        None,
        title="Shop account's access token",
        description="A user token of the shop's account: replies and direct messages.",
    )

    @field_validator("x_shop_handle")
    @classmethod
    def _a_handle(cls, text: str | None) -> str | None:
        handle = None if text is None else text.removeprefix("@")
        if handle is not None and not _HANDLE.fullmatch(handle):
            raise ValueError(
                f"X handle {text!r} is not a handle: letters, digits and _ only, at most 15"
            )
        return handle

    @field_validator("x_shop_user_id")
    @classmethod
    def _a_number(cls, text: str | None) -> str | None:
        if text is not None and not _USER_ID.fullmatch(text):
            raise ValueError(f"X user id {text!r} is not a number (the account's id)")
        return text
