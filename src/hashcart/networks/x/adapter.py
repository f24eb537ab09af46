"""X as hashcart sees it: one NetworkAdapter (see networks/base)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hashcart.domain.posts import Network
from hashcart.networks.base import (
    Format,
    Need,
    NetworkAdapter,
    NetworkHost,
    NetworkSettings,
    Sniff,
    Wiring,
)
from hashcart.networks.x.connect import CONNECT
from hashcart.networks.x.decode import decode_v1, decode_v2
from hashcart.networks.x.settings import XSettings
from hashcart.networks.x.webhook import XWebhook

if TYPE_CHECKING:
    from hashcart.ports import (
        ClientRegistry,
        OAuthProvider,
    )

_X_ID = re.compile(r"[0-9]{1,20}")
_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")


def post_url(post_id: str, author_id: str, handle: str) -> str | None:
    if not _X_ID.fullmatch(post_id):
        return None
    # x.com redirects /i/web/status/<id> to the author's own path; use it when the handle
    # is not a real screen name.
    who = handle if _X_HANDLE.fullmatch(handle) else "i/web"
    return f"https://x.com/{who}/status/{post_id}"


# Detection: v2 stream lines start with `{"data":`; v1.1's own markers (`id_str`, Account
# Activity envelopes) before Jetstream's generic `kind`/`did` (a tweet never has those);
# v2's `data`/`errors` before Mastodon's looser markers; the bare v1.1 `"delete":` notice
# last, after v2's compliance `{"data": {"delete": ...}}`.
SNIFFS = (
    Sniff(20, Format.X_V2, lambda head, line: head.startswith(b'{"data":')),
    Sniff(
        30,
        Format.X,
        lambda head, line: (
            b'"id_str":' in line
            or b'"tweet_create_events":' in line
            or b'"tweet_delete_events":' in line
            or b'"for_user_id":' in line
            # Account Activity's `user_event` (the app revoked), documented without
            # `for_user_id` (docs.x.com/x-api/account-activity/introduction).
            or b'"user_event":' in line
        ),
    ),
    Sniff(50, Format.X_V2, lambda head, line: b'"data":' in line or b'"errors":' in line),
    Sniff(70, Format.X, lambda head, line: b'"delete":' in line),
)

SETTINGS = NetworkSettings(
    model=XSettings,
    needs=(
        Need(
            "Webhook deliveries (Account Activity or X Activity API)",
            "listen",
            (("x_consumer_secret",),),
        ),
        Need("Filtered stream", "listen", (("x_bearer_token", "x_shop_handle"),), "x_stream"),
        Need("Replies to shoppers", "answer", (("x_access_token",),)),
        Need("Fetching parent posts hashcart missed", "extra", (("x_bearer_token",),)),
        Need("Shoppers linking their account", "extra", (("x_client_id", "x_client_secret"),)),
    ),
    listeners={"x_stream": "X filtered stream"},
)


def _oauth(host: NetworkHost, clients: ClientRegistry) -> OAuthProvider:
    from hashcart.networks.x.oauth import XOAuth

    return XOAuth.from_settings(host.effective_settings())


# Built from x/wiring when first needed (see networks/base.Wiring).
_WIRING = Wiring("hashcart.networks.x.wiring")

ADAPTER = NetworkAdapter(
    name=Network.X,
    display_name=Network.X.display_name,
    decoders={Format.X: decode_v1, Format.X_V2: decode_v2},
    sniffs=SNIFFS,
    settings=SETTINGS,
    fetcher=_WIRING.fetcher,
    sender=_WIRING.sender,
    listeners=_WIRING.listeners,
    oauth=_oauth,
    connect=CONNECT,
    webhook=XWebhook(),
    post_url=post_url,
)
