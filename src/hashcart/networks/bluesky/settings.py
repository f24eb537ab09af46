"""Bluesky's settings model: the fields the console's Networks card shows, secrets typed
SecretStr. The values are `Settings` fields of the same names (README "Live networks")."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator

from hashcart.networks.setting_values import server_url

_HANDLE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}")


class BlueskySettings(BaseModel):
    bluesky_identifier: str | None = Field(
        None,
        title="Shop account",
        description="The shop's handle (shop.bsky.social) or DID.",
    )
    bluesky_app_password: SecretStr | None = Field(
        None,
        title="App password",
        description="From Settings › Privacy and security › App passwords.",
    )
    bluesky_pds_url: str | None = Field(
        None,
        title="PDS",
        description="The shop account's PDS (https://bsky.social for most).",
    )
    bluesky_jetstream_url: str | None = Field(
        None,
        title="Jetstream",
        description="A Jetstream instance's /subscribe address.",
    )

    @field_validator("bluesky_identifier")
    @classmethod
    def _a_handle_or_did(cls, text: str | None) -> str | None:
        name = None if text is None else text.removeprefix("@")
        if name is not None and not (_HANDLE.fullmatch(name) or _DID.fullmatch(name)):
            raise ValueError(
                f"Bluesky account {text!r} is neither a handle (shop.bsky.social) nor a DID"
            )
        return name

    @field_validator("bluesky_pds_url")
    @classmethod
    def _a_pds(cls, text: str | None) -> str | None:
        if text is None:
            return None
        return server_url("Bluesky PDS", text, ("https", "http"), path_allowed=False)

    @field_validator("bluesky_jetstream_url")
    @classmethod
    def _a_jetstream(cls, text: str | None) -> str | None:
        if text is None:
            return None
        return server_url("Jetstream URL", text, ("wss", "ws"), path_allowed=True)
