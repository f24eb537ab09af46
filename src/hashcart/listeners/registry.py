"""Which networks hashcart talks to, built from the settings: one wiring module a network."""

from __future__ import annotations

import importlib
from types import ModuleType

from hashcart.bootstrap import App
from hashcart.domain.posts import Network
from hashcart.listeners.base import Listener
from hashcart.listeners.sink import LiveIngest
from hashcart.networks import shortlinks
from hashcart.networks.parents import ParentFetcher
from hashcart.outbox.senders import Sender


def _wiring(network: Network) -> ModuleType:
    return importlib.import_module(f"hashcart.networks.{network.value}.wiring")


def fetchers(app: App) -> dict[Network, ParentFetcher]:
    built = {network: _wiring(network).fetcher(app) for network in Network}
    return {network: fetcher for network, fetcher in built.items() if fetcher is not None}


def senders(app: App) -> dict[str, Sender]:
    """The network senders the settings configure, by outbox network (email is the
    dispatcher's own)."""
    built = {network.value: _wiring(network).sender(app) for network in Network}
    return {network: sender for network, sender in built.items() if sender is not None}


def live_ingest(app: App) -> LiveIngest:
    """The sink for live payloads, with parent fetchers and the short-link resolver; the
    parents that stored triggers still wait for are fetched with its first payload."""
    sink = LiveIngest(
        app,
        fetchers=fetchers(app),
        resolve_links=shortlinks.resolver(app),
        extra_hosts=app.settings.shortener_hosts,
    )
    sink.recall_waiting_parents()
    return sink


def listeners(app: App, sink: LiveIngest) -> list[Listener]:
    """Every listener `settings.listeners` names, in that order of networks."""
    found: list[Listener] = []
    for network in Network:
        found += _wiring(network).listeners(app, sink)
    return found
