"""Every exception hashcart defines has one root, and each network's API errors one base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import hashcart
from hashcart.errors import HashcartError, NetworkApiError

# Modules that do something when imported: the entry point runs the CLI, Alembic's env
# runs the migrations (their revision files are plain functions, nothing to inspect).
NOT_IMPORTED = ("hashcart.__main__", "hashcart.store.migrations")


def _modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(hashcart.__path__, prefix="hashcart.")
        if not info.name.startswith(NOT_IMPORTED)
    ]
    assert len(names) > 150  # the walk found the package, not an empty path
    return names


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("hashcart."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_public_exception_class_derives_from_hashcart_error() -> None:
    classes = _exception_classes()
    # Private control-flow signals that never leave their module are exempt: _Terminated is
    # a BaseException on purpose, so that no `except Exception` swallows a SIGTERM.
    public = {name: cls for name, cls in classes.items() if not cls.__name__.startswith("_")}
    assert len(public) >= 35
    outside = sorted(name for name, cls in public.items() if not issubclass(cls, HashcartError))
    assert outside == []


@pytest.mark.parametrize(
    ("module", "base"),
    [
        ("hashcart.networks.x.api", "XError"),
        ("hashcart.networks.mastodon.api", "MastodonError"),
        ("hashcart.networks.bluesky.xrpc", "BlueskyError"),
    ],
)
def test_each_network_has_one_api_error_base_under_network_api_error(
    module: str, base: str
) -> None:
    network_base = getattr(importlib.import_module(module), base)
    assert network_base.__bases__ == (NetworkApiError,)


def test_network_api_errors_are_grouped_by_network() -> None:
    from hashcart.networks.bluesky.identity import IdentityNotFound
    from hashcart.networks.bluesky.session import LoginRefused
    from hashcart.networks.bluesky.xrpc import BlueskyError, BlueskyUnreachable, XrpcError
    from hashcart.networks.mastodon.api import MastodonApiError, MastodonError, MastodonUnreachable
    from hashcart.networks.x.api import XApiError, XError, XNotConfigured, XUnreachable

    assert all(issubclass(c, XError) for c in (XApiError, XNotConfigured, XUnreachable))
    assert all(issubclass(c, MastodonError) for c in (MastodonApiError, MastodonUnreachable))
    assert all(
        issubclass(c, BlueskyError)
        for c in (BlueskyUnreachable, XrpcError, IdentityNotFound, LoginRefused)
    )
    assert not issubclass(XApiError, MastodonError)


def test_classes_keep_their_other_bases_so_existing_except_clauses_still_catch_them() -> None:
    import httpcore

    from hashcart.config import ConfigFileError
    from hashcart.domain.posts import DecodeError
    from hashcart.networks.addresses import Refused
    from hashcart.secretbox import NoTokenKey
    from hashcart.store.database import DatabaseURLError

    assert issubclass(DecodeError, ValueError)
    assert issubclass(ConfigFileError, ValueError)
    assert issubclass(DatabaseURLError, ValueError)
    assert issubclass(NoTokenKey, RuntimeError)
    assert issubclass(Refused, httpcore.ConnectError)
