"""The live sink and what feeds it, built from the settings: the parts come from each
registered network's adapter (networks/registry)."""

from __future__ import annotations

from hashcart.bootstrap import App
from hashcart.listeners.sink import LiveIngest
from hashcart.networks import shortlinks
from hashcart.networks.registry import fetchers, listeners, senders

__all__ = ["fetchers", "listeners", "live_ingest", "senders"]


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
