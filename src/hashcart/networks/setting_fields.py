"""The registered networks' settings fields (ports.NetworkSettingFields), read from the
registry each time: the console's store (store/network_config) asks through the port, so the
store needs no knowledge of which networks are registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hashcart.networks import registry

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["NETWORK_SETTING_FIELDS", "RegisteredSettingFields"]


class RegisteredSettingFields:
    """Stateless: the registry is read on every call, so a network registered later (a
    plugin, say) is seen at once."""

    def plain_keys(self) -> tuple[str, ...]:
        return tuple(key for adapter in registry.adapters() for key in adapter.settings.plain_keys)

    def secret_keys(self) -> tuple[str, ...]:
        return tuple(key for adapter in registry.adapters() for key in adapter.settings.secret_keys)

    def model_with(self, key: str) -> type[BaseModel] | None:
        for adapter in registry.adapters():
            if key in adapter.settings.plain_keys:
                return adapter.settings.model
        return None

    def listener_names(self) -> tuple[str, ...]:
        return registry.listener_names()


NETWORK_SETTING_FIELDS = RegisteredSettingFields()
