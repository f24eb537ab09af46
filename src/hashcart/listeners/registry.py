"""The live sink and what feeds it, built from the settings: the parts come from each
registered network's adapter (networks/registry)."""

from __future__ import annotations

from datetime import datetime

from hashcart.domain.products import ShopHosts
from hashcart.listeners.sink import LiveHost, LiveIngest
from hashcart.networks.registry import fetchers, listeners, senders
from hashcart.networks.shortlinks import SHOP_HOSTS_REFRESH, ShortLinkResolver, shortener_hosts
from hashcart.ports import LinkResolver
from hashcart.store.resolved_links import StoredResolutions

__all__ = ["fetchers", "listeners", "live_ingest", "senders"]


def live_ingest(app: LiveHost) -> LiveIngest:
    """The sink for live payloads, with parent fetchers and the short-link resolver; the
    parents that stored triggers still wait for are fetched with its first payload."""
    sink = LiveIngest(
        app,
        fetchers=fetchers(app),
        resolve_links=link_resolver(app),
        extra_hosts=app.settings.shortener_hosts,
    )
    sink.recall_waiting_parents()
    return sink


class ShopUrls:
    """Whether a URL is on one of the shop's hosts (read again every SHOP_HOSTS_REFRESH,
    since catalog imports and the console change them)."""

    def __init__(self, app: LiveHost) -> None:
        self.app = app
        self._hosts: ShopHosts | None = None
        self._read_at: datetime | None = None

    def __call__(self, url: str) -> bool:
        now = self.app.clock.now()
        if (
            self._hosts is None
            or self._read_at is None
            or now - self._read_at >= SHOP_HOSTS_REFRESH
        ):
            self._hosts = self.app.shop().hosts
            self._read_at = now
        return self._hosts.matches_url(url)


def link_resolver(app: LiveHost) -> LinkResolver | None:
    """The live ingest's short-link resolver, or None when no shortener host is set."""
    hosts = shortener_hosts(app.effective_settings().shortener_hosts)
    if not hosts:
        return None
    return ShortLinkResolver(
        StoredResolutions(app.engine, app.clock), hosts, is_shop_url=ShopUrls(app)
    )
