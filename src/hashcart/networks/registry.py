"""The one registry of networks. A network is added with one line:

    registry.register(ADAPTER)

and from then on format detection, decoding, the prefilter, display names, post URLs, the
dispatcher's senders, the live sink's fetchers and listeners, OAuth sign-in, the console's
Networks form, the `listeners` setting, `ingest --format`, the API's network filter and
`/webhooks/{network}` all know it (see networks/base.NetworkAdapter).

The registry knows no network by itself: the built-in ones (X, Mastodon, Bluesky, in the
order pages show them) are registered by networks/builtin, which the composition root
(bootstrap) imports; that module sits above this one, so no adapter and the registry import
each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hashcart.domain.posts import Network
from hashcart.errors import HashcartError
from hashcart.networks.base import Decode, Format, LineRule, NetworkAdapter, Sniff

if TYPE_CHECKING:
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import Listener, LiveSink, ParentFetcher, Sender


class UnknownNetwork(HashcartError, LookupError):
    """No network of that name is registered."""


_adapters: dict[str, NetworkAdapter] = {}
# Derived from the adapters, rebuilt when one is registered (read on every decoded line).
_decoders: dict[str, Decode] = {}
_sniffs: tuple[Sniff, ...] = ()
# (matches, format) of each sniff, in order: what `formats.detect` runs on every line.
_detection: tuple[tuple[Callable[[bytes, bytes], bool], Format], ...] = ()
_line_rules: tuple[LineRule, ...] = ()


def register(adapter: NetworkAdapter) -> NetworkAdapter:
    """Make `adapter`'s network known everywhere; registering the same adapter again does
    nothing, another adapter under a registered name or format is refused (ValueError)."""
    if _adapters.get(adapter.name) is adapter:
        return adapter
    if adapter.name in _adapters:
        raise ValueError(f"a network named {adapter.name!r} is registered already")
    taken = set(adapter.decoders) & set(_decoders)
    if taken:
        raise ValueError(f"formats {sorted(taken)} are another network's already")
    Network.declare(adapter.name, adapter.display_name)
    for name in adapter.decoders:
        Format.declare(name)
    _adapters[adapter.name] = adapter
    _rebuild()
    return adapter


def unregister(name: str) -> None:
    """Forget a registered network (tests register their own and clean up after): its
    name and formats are no longer known anywhere."""
    gone = _adapters.pop(name, None)
    if gone is not None:
        for fmt in gone.decoders:
            Format.forget(fmt)
        Network.forget(name)
    _rebuild()


def _rebuild() -> None:
    global _sniffs, _detection, _line_rules
    _decoders.clear()
    for adapter in _adapters.values():
        _decoders.update(adapter.decoders)
    every = [sniff for adapter in _adapters.values() for sniff in adapter.sniffs]
    # sorted() is stable: rules of the same order keep registration order.
    _sniffs = tuple(sorted(every, key=lambda sniff: sniff.order))
    _detection = tuple((sniff.matches, Format(sniff.format)) for sniff in _sniffs)
    _line_rules = tuple(rule for adapter in _adapters.values() for rule in adapter.line_rules)


def adapters() -> tuple[NetworkAdapter, ...]:
    """Every registered network, in registration order."""
    return tuple(_adapters.values())


def names() -> tuple[str, ...]:
    return tuple(_adapters)


def find(name: str) -> NetworkAdapter | None:
    return _adapters.get(name)


def adapter(name: str) -> NetworkAdapter:
    found = _adapters.get(name)
    if found is None:
        raise UnknownNetwork(f"no network named {name!r} is registered")
    return found


def decoder(fmt: str) -> Decode | None:
    """The decoder of the format named `fmt`, None when no network has it."""
    return _decoders.get(fmt)


def sniffs() -> tuple[Sniff, ...]:
    """Every network's detection rules, lowest order first."""
    return _sniffs


def detection() -> tuple[tuple[Callable[[bytes, bytes], bool], Format], ...]:
    """`sniffs()` as (matches, format) pairs, the formats already looked up."""
    return _detection


def line_rules() -> tuple[LineRule, ...]:
    return _line_rules


# The parts, built from the settings in force ------------------------------------------------


def fetchers(host: NetworkHost) -> dict[Network, ParentFetcher]:
    """The parent fetchers the settings configure, by network."""
    built = {Network(one.name): one.fetcher(host) for one in _adapters.values()}
    return {network: fetcher for network, fetcher in built.items() if fetcher is not None}


def senders(host: NetworkHost) -> dict[str, Sender]:
    """The network senders the settings configure, by outbox network (email is the
    dispatcher's own)."""
    built = {one.name: one.sender(host) for one in _adapters.values()}
    return {network: sender for network, sender in built.items() if sender is not None}


def max_characters(network: str, host: NetworkHost) -> int | None:
    """The longest post `network`'s server takes, where the server says; None otherwise."""
    adapter = _adapters.get(network)
    return None if adapter is None else adapter.max_characters(host)


def listeners(host: NetworkHost, sink: LiveSink) -> list[Listener]:
    """Every listener `settings.listeners` names, in the order of networks."""
    found: list[Listener] = []
    for one in _adapters.values():
        found += one.listeners(host, sink)
    return found


def listener_names() -> tuple[str, ...]:
    """Every listener a registered network has, for the `listeners` setting."""
    return tuple(name for one in _adapters.values() for name in one.settings.listeners)


def formats() -> tuple[str, ...]:
    """Every registered format name, network by network (what `ingest --format` offers
    besides `auto`)."""
    return tuple(_decoders)


class UnknownListeners(HashcartError, ValueError):
    """The `listeners` setting names a listener no registered network has."""


def check_listeners(named: tuple[str, ...] | list[str]) -> None:
    """UnknownListeners, saying which names are known, when `named` holds another one."""
    known = listener_names()
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise UnknownListeners(f"unknown listeners {unknown}: choose from {', '.join(known)}")
