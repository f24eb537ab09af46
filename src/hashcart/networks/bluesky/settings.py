"""Bluesky's settings model: the fields the console's Networks card shows, secrets typed
SecretStr. The values are `Settings` fields of the same names (README "Live networks")."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class BlueskySettings(BaseModel):
    bluesky_identifier: str | None = Field(
        None, title="Shop account", description="The shop's handle (shop.bsky.social) or DID."
    )
    bluesky_app_password: SecretStr | None = Field(
        None,
        title="App password",
        description="From Settings › Privacy and security › App passwords.",
    )
    bluesky_pds_url: str | None = Field(
        None, title="PDS", description="The shop account's PDS (https://bsky.social for most)."
    )
    bluesky_jetstream_url: str | None = Field(
        None, title="Jetstream", description="A Jetstream instance's /subscribe address."
    )
