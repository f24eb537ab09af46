"""The console's network values (store/network_config) know the networks only through the
fields they are given (ports.NetworkSettingFields), never the registry: a made-up network
here, that no registry holds, is checked by its own model and listener names."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr, field_validator

from hashcart.networks.setting_fields import NETWORK_SETTING_FIELDS
from hashcart.store import network_config


class AcmeSettings(BaseModel):
    acme_server: str = ""
    acme_token: SecretStr | None = None

    @field_validator("acme_server")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("acme_server must be an https address")
        return value.rstrip("/")


class AcmeOnly:
    def plain_keys(self) -> tuple[str, ...]:
        return ("acme_server",)

    def secret_keys(self) -> tuple[str, ...]:
        return ("acme_token",)

    def model_with(self, key: str) -> type[BaseModel] | None:
        return AcmeSettings if key == "acme_server" else None

    def listener_names(self) -> tuple[str, ...]:
        return ("acme_stream",)


def test_keys_are_the_given_networks_then_listeners() -> None:
    assert network_config.plain_keys(networks=AcmeOnly()) == ("acme_server", "listeners")
    assert network_config.secret_keys(networks=AcmeOnly()) == ("acme_token",)


def test_a_value_is_checked_by_the_given_network_s_model() -> None:
    assert (
        network_config.check_plain("acme_server", " https://acme.example/ ", networks=AcmeOnly())
        == "https://acme.example"
    )
    with pytest.raises(network_config.NetworkConfigError, match="must be an https address"):
        network_config.check_plain("acme_server", "http://acme.example", networks=AcmeOnly())
    # The built-in networks' fields are not the given networks'.
    with pytest.raises(network_config.NetworkConfigError, match="not a network setting"):
        network_config.check_plain("mastodon_url", "https://m.example", networks=AcmeOnly())


def test_listeners_are_the_given_networks_listeners() -> None:
    assert network_config.check_plain("listeners", ["acme_stream"], networks=AcmeOnly()) == (
        "acme_stream",
    )
    with pytest.raises(network_config.NetworkConfigError, match="unknown listeners jetstream"):
        network_config.check_plain("listeners", ["jetstream"], networks=AcmeOnly())


def test_the_registry_s_fields_are_the_built_in_networks() -> None:
    plain = NETWORK_SETTING_FIELDS.plain_keys()
    assert {"mastodon_url", "bluesky_identifier", "x_shop_handle"} <= set(plain)
    assert NETWORK_SETTING_FIELDS.model_with("mastodon_url") is not None
    assert "jetstream" in NETWORK_SETTING_FIELDS.listener_names()
    assert NETWORK_SETTING_FIELDS.model_with("no_such_key") is None
    assert set(plain).isdisjoint(NETWORK_SETTING_FIELDS.secret_keys())
