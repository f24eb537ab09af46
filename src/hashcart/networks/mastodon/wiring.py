"""How mastodon plugs into hashcart: its parent fetcher, its sender and its stream listeners,
each built from the settings in force (the file's, with the console's on top), or None /
nothing when they do not configure the shop's server (`mastodon_url`) and its account's
token (`mastodon_access_token`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx

from hashcart.networks.mastodon.api import MastodonApi

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import Listener, LiveSink, ParentFetcher, Sender

log = logging.getLogger(__name__)

LISTENER = "mastodon"


def _api(settings: Settings, **options: Any) -> MastodonApi | None:
    token = settings.mastodon_access_token
    if not settings.mastodon_url or token is None or not token.get_secret_value():
        return None
    return MastodonApi(settings.mastodon_url, token.get_secret_value(), **options)


def account_api(settings: Settings) -> MastodonApi | None:
    """The API of the shop's server as its account sees it (`hashcart links check`); None
    when it is not configured."""
    return _api(settings)


# The limit is asked while a message is composed, which is inside the batch's write
# transaction: a server that does not answer must hold that lock for seconds at most, once
# per process (then the documented 500 holds).
LIMIT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)


# The servers' status limits, asked once per server and process: it changes when the
# server's admin rebuilds it, not between two messages.
_MAX_CHARACTERS: dict[str, int] = {}


def max_characters(host: NetworkHost) -> int | None:
    """The shop's server's `configuration.statuses.max_characters` (api.max_characters);
    None when the settings configure no server and token (the documented default holds)."""
    settings = host.effective_settings()
    if settings.mastodon_url and settings.mastodon_url in _MAX_CHARACTERS:
        # Known already: every shop loaded asks once, and a client is not worth opening.
        return _MAX_CHARACTERS[settings.mastodon_url]
    api = _api(settings, timeout=LIMIT_TIMEOUT)
    if api is None or not settings.mastodon_url:
        return None
    try:
        _MAX_CHARACTERS[settings.mastodon_url] = api.max_characters()
    finally:
        api.close()
    return _MAX_CHARACTERS[settings.mastodon_url]


def fetcher(host: NetworkHost) -> ParentFetcher | None:
    from hashcart.networks.mastodon.fetch import MastodonParentFetcher

    api = _api(host.effective_settings())
    return None if api is None else MastodonParentFetcher(api)


def sender(host: NetworkHost) -> Sender | None:
    from hashcart.networks.mastodon.send import MastodonSender

    api = _api(host.effective_settings())
    return None if api is None else MastodonSender(api)


def listeners(host: NetworkHost, sink: LiveSink) -> list[Listener]:
    """The `mastodon` listener, when `settings.listeners` names it and the server and token
    are set (named without them, it is left out with a warning saying what is missing)."""
    from hashcart.networks.mastodon.stream import MastodonStreamListener

    settings = host.effective_settings()
    if LISTENER not in settings.listeners:
        return []
    api = _api(settings)
    if api is None:
        log.warning(
            "the mastodon listener needs mastodon_url and mastodon_access_token; not started"
        )
        return []
    return [MastodonStreamListener(sink, api)]
