"""How bluesky plugs into hashcart: its parent fetcher, its sender and its stream listeners,
each built from the settings in force (the console's on top of the file's), or None /
nothing when the settings do not configure it.

Public records need no login, so the fetcher is always there; the sender needs the shop's
account connected by OAuth, or its identifier and app password; the listeners are the ones
`listeners` names (`jetstream`, `bluesky_firehose`).

The network's composition root: the one module of its package that builds its parts,
from what the host (networks/base.NetworkHost) gives: clock, settings, sealed sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hashcart.networks.bluesky.backfill import ThreadBackfill
from hashcart.networks.bluesky.connect import SESSION as OAUTH_SESSION
from hashcart.networks.bluesky.fetch import BlueskyParentFetcher
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.jetstream import JetstreamListener
from hashcart.networks.bluesky.oauth import SHOP_CALLBACK_PATH, SHOP_SCOPE, BlueskyOAuth
from hashcart.networks.bluesky.oauth_session import OAuthShopSession
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.send import BlueskySender
from hashcart.networks.bluesky.session import ShopSession
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.secretbox import SecretBox

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import Listener, LiveSink, ParentFetcher, Sender


def _reading(host: NetworkHost, settings: Settings) -> tuple[Xrpc, IdentityResolver, RecordReader]:
    xrpc = Xrpc(new_client())
    identity = IdentityResolver(xrpc, settings.bluesky_plc_url, host.clock)
    # Records are read from the PDS a DID document names: a place a stranger chose.
    return xrpc, identity, RecordReader(identity, identity.named_hosts)


def fetcher(host: NetworkHost) -> ParentFetcher | None:
    _, _, records = _reading(host, host.effective_settings())
    return BlueskyParentFetcher(records, host.clock)


def sender(host: NetworkHost) -> Sender | None:
    """The shop account connected by OAuth from the console when there is one (its
    DPoP-bound session), else the identifier and app password the settings name."""
    settings = host.effective_settings()
    box = SecretBox.of(settings) if settings.token_key is not None else None
    if box is not None and host.sealed_sessions().read(OAUTH_SESSION) is not None:
        xrpc, identity, records = _reading(host, settings)
        oauth = BlueskyOAuth.from_settings(settings, SHOP_CALLBACK_PATH, SHOP_SCOPE)
        connected = OAuthShopSession(host.sealed_sessions(), box, host.clock, oauth)
        return BlueskySender(connected, records, identity, xrpc)
    if not settings.bluesky_identifier or settings.bluesky_app_password is None:
        return None
    xrpc, identity, records = _reading(host, settings)
    session = ShopSession(
        host.sealed_sessions(),
        xrpc,
        host.clock,
        pds_url=settings.bluesky_pds_url,
        identifier=settings.bluesky_identifier,
        password=settings.bluesky_app_password.get_secret_value(),
        box=box,
    )
    return BlueskySender(session, records, identity, xrpc)


def listeners(host: NetworkHost, sink: LiveSink) -> list[Listener]:
    """The listeners of this network named in the settings' `listeners`."""
    settings = host.effective_settings()
    found: list[Listener] = []
    if "jetstream" in settings.listeners:
        xrpc, _, records = _reading(host, settings)
        # Gaps are backfilled from the shop's own threads: without its account, none.
        shop = settings.bluesky_identifier
        backfill = ThreadBackfill(xrpc, settings.bluesky_appview_url, shop) if shop else None
        found.append(
            JetstreamListener(settings.bluesky_jetstream_url, sink, records, backfill=backfill)
        )
    if "bluesky_firehose" in settings.listeners:
        _, identity, records = _reading(host, settings)
        found.append(FirehoseListener(settings.bluesky_firehose_url, sink, identity, records))
    return found
