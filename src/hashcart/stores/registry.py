"""The one registry of merchants' stores: the `store` setting's value -> a factory that builds
the CommerceStore from the settings. A store is added with one line:

    registry.register("vendure", VendureStore.from_settings)

The built-in shop ("builtin") is not here: it is hashcart's own tables (store/own_store),
built by the composition root (bootstrap), which asks this registry for every other name.
"""

from __future__ import annotations

from collections.abc import Callable

from hashcart.config import Settings
from hashcart.errors import HashcartError
from hashcart.ports import CommerceStore

StoreFactory = Callable[[Settings], CommerceStore]

BUILTIN = "builtin"


class UnknownStore(HashcartError, LookupError):
    """The `store` setting names a store no package registered."""


class StoreNotConfigured(HashcartError, ValueError):
    """The `store` setting names a store whose own settings are missing or unusable."""


_factories: dict[str, StoreFactory] = {}


def register(name: str, factory: StoreFactory) -> StoreFactory:
    """Make the store `name` buildable; the same factory again changes nothing, another one
    under a registered name is refused (ValueError)."""
    if _factories.get(name) is factory:
        return factory
    if name in _factories or name == BUILTIN:
        raise ValueError(f"a store named {name!r} is registered already")
    _factories[name] = factory
    return factory


def unregister(name: str) -> None:
    _factories.pop(name, None)


def names() -> tuple[str, ...]:
    """Every store the `store` setting may name."""
    return (BUILTIN, *_factories)


def build(settings: Settings) -> CommerceStore:
    """The external store the settings name (UnknownStore, StoreNotConfigured)."""
    factory = _factories.get(settings.store)
    if factory is None:
        raise UnknownStore(
            f"store {settings.store!r} is not known: choose from {', '.join(names())}"
        )
    return factory(settings)
