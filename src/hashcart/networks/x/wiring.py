"""How x plugs into hashcart: its parent fetcher, its sender and its stream listeners,
each built from the settings in force (the file's, with the console's on top), or None /
nothing when they do not configure it.

- fetcher: needs the app-only bearer token (`x_bearer_token`);
- sender: needs the shop account's user token (`x_access_token`); `x_shop_user_id` saves
  asking X who the shop is when reconciling (GET /2/users/me otherwise);
- listeners: the filtered stream, when `listeners` names "x_stream" and the bearer token is
  set; its trigger rule needs `x_shop_handle`.

The network's composition root: the one module of its package that builds its parts,
from what the host (networks/base.NetworkHost) gives: clock, settings, sealed sessions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hashcart.networks.x.api import XApi
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.networks.x.send import XSender
from hashcart.networks.x.shop_token import ShopToken
from hashcart.networks.x.stream import FilteredStreamListener

if TYPE_CHECKING:
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import Listener, LiveSink, ParentFetcher, Sender

log = logging.getLogger(__name__)


def fetcher(host: NetworkHost) -> ParentFetcher | None:
    settings = host.effective_settings()
    if settings.x_bearer_token is None:
        return None
    return XParentFetcher(XApi.from_settings(settings))


def sender(host: NetworkHost) -> Sender | None:
    settings = host.effective_settings()
    if settings.x_access_token is None:
        return None
    return XSender(
        XApi.from_settings(settings),
        shop_user_id=settings.x_shop_user_id,
        token=ShopToken(host.sealed_sessions(), settings, host.clock),
    )


def listeners(host: NetworkHost, sink: LiveSink) -> list[Listener]:
    """The listeners of this network named in the settings' `listeners`."""
    settings = host.effective_settings()
    if "x_stream" not in settings.listeners:
        return []
    if settings.x_bearer_token is None:
        log.warning("listener x_stream is named but x_bearer_token is not set: not started")
        return []
    # The handle is read from the settings in force before each connection (not fixed here).
    return [FilteredStreamListener(sink, XApi.from_settings(settings))]
