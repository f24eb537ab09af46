"""X's settings model: the fields the console's Networks card shows, secrets typed SecretStr.

The values are `Settings` fields of the same names (documented settings, README "Live
networks"); this model says which of them are X's, in the order the card shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


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
        None, title="OAuth 2.0 client id", description="Shoppers link their X account with it."
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
