"""Mastodon as hashcart sees it: one NetworkAdapter (see networks/base)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hashcart.domain.posts import Network
from hashcart.networks.base import (
    Format,
    Need,
    NetworkAdapter,
    NetworkHost,
    NetworkSettings,
    SignInAsks,
    Sniff,
    Wiring,
)
from hashcart.networks.mastodon.connect import CONNECT
from hashcart.networks.mastodon.decode import decode
from hashcart.networks.mastodon.settings import MastodonSettings
from hashcart.networks.mastodon.webhook import MastodonWebhook
from hashcart.networks.safe_urls import web_url

if TYPE_CHECKING:
    from hashcart.ports import (
        ClientRegistry,
        OAuthProvider,
    )

_MASTODON_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_MASTODON_USER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def post_url(post_id: str, account_uri: str, acct: str) -> str | None:
    """Mastodon ids are the receiving server's own numbering (see domain.posts.Post), so the
    post's address is known only for an author local to that server (`acct` without a
    domain): then the account URI's host is that server, and `/@user/<id>` is the post."""
    if not _MASTODON_ID.fullmatch(post_id) or not _MASTODON_USER.fullmatch(acct):
        return None
    if web_url(account_uri) is None:
        return None
    parts = urlsplit(account_uri)
    if parts.scheme != "https" or parts.username or parts.password or not parts.hostname:
        return None
    return f"https://{parts.netloc}/@{acct}/{post_id}"


# Mastodon's markers are loose (`account` + `uri` may be in other shapes), so they come after
# X's and Jetstream's own.
SNIFFS = (
    Sniff(
        60,
        Format.MASTODON,
        lambda head, line: (
            b'"stream":' in line
            or b'"event":' in line
            or (b'"account":' in line and b'"uri":' in line)
        ),
    ),
)

SETTINGS = NetworkSettings(
    model=MastodonSettings,
    needs=(
        Need(
            "Streaming (mentions and the trigger tags)",
            "listen",
            (("mastodon_url", "mastodon_access_token"),),
            "mastodon",
        ),
        Need("Admin webhook (status.created)", "listen", (("mastodon_webhook_secret",),)),
        Need("Replies and parent posts", "answer", (("mastodon_url", "mastodon_access_token"),)),
    ),
    listeners={"mastodon": "Mastodon streaming"},
)


def _oauth(host: NetworkHost, clients: ClientRegistry) -> OAuthProvider:
    from hashcart.networks.mastodon.oauth import MastodonOAuth

    return MastodonOAuth.from_settings(host.effective_settings(), clients)


# Built from mastodon/wiring when first needed (see networks/base.Wiring).
_WIRING = Wiring("hashcart.networks.mastodon.wiring")

ADAPTER = NetworkAdapter(
    name=Network.MASTODON,
    display_name=Network.MASTODON.display_name,
    decoders={Format.MASTODON: decode},
    sniffs=SNIFFS,
    settings=SETTINGS,
    fetcher=_WIRING.fetcher,
    sender=_WIRING.sender,
    listeners=_WIRING.listeners,
    max_characters=_WIRING.max_characters,
    oauth=_oauth,
    connect=CONNECT,
    sign_in_asks=SignInAsks("server", "Your Mastodon server", "mastodon.social"),
    webhook=MastodonWebhook(),
    post_url=post_url,
)
