"""Mastodon's settings model: the fields the console's Networks card shows, secrets typed
SecretStr. The values are `Settings` fields of the same names (README "Live networks")."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from hashcart.networks.setting_values import server_url


class MastodonSettings(BaseModel):
    mastodon_url: str | None = Field(
        None,
        title="Server",
        description="The shop account's server, e.g. https://mastodon.social.",
    )
    mastodon_access_token: SecretStr | None = Field(
        None,
        title="Shop account's access token",
        description="From Preferences › Development › New application (scopes read, write).",
    )
    mastodon_webhook_secret: SecretStr | None = Field(
        None,
        title="Admin webhook secret",
        description="Shown in Administration › Webhooks once the webhook is made.",
    )

    @field_validator("mastodon_url")
    @classmethod
    def _a_server(cls, text: str | None) -> str | None:
        if text is None:
            return None
        return server_url("Mastodon server", text, ("https", "http"), path_allowed=False)
