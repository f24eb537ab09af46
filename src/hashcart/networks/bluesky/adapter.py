"""Bluesky as hashcart sees it: one NetworkAdapter (see networks/base).

Its one payload shape is Jetstream's event (the firehose's commits are turned into it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from hashcart.domain.posts import Network
from hashcart.networks.base import (
    Format,
    LineRule,
    Need,
    NetworkAdapter,
    NetworkHost,
    NetworkSettings,
    SignInAsks,
    Sniff,
    Wiring,
)
from hashcart.networks.bluesky.connect import CONNECT
from hashcart.networks.bluesky.decode import decode
from hashcart.networks.bluesky.settings import BlueskySettings

if TYPE_CHECKING:
    from hashcart.ports import (
        ClientRegistry,
        OAuthProvider,
    )

# at://<did>/app.bsky.feed.post/<rkey>
_BLUESKY_POST = re.compile(
    r"at://(did:[a-z]+:[A-Za-z0-9._:%-]{1,2000})/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]{1,512})"
)


def post_url(post_id: str, author_id: str, author_handle: str) -> str | None:
    found = _BLUESKY_POST.fullmatch(post_id)
    if found is None:
        return None
    did, rkey = found.groups()
    return f"https://bsky.app/profile/{quote(did, safe=':')}/post/{quote(rkey, safe='')}"


# Jetstream's Go encoder always writes `{"did":` first, so the first key decides without a
# scan; otherwise `kind` and `did` together, after X v1.1's own markers (a tweet has none).
SNIFFS = (
    Sniff(
        10, Format.JETSTREAM, lambda head, line: head.startswith(b'{"did":') and b'"kind":' in line
    ),
    Sniff(40, Format.JETSTREAM, lambda head, line: b'"kind":' in line and b'"did":' in line),
)

# Only app.bsky.feed.post events can matter, and only they name that collection with a
# closing quote (a like's subject is a post URI: `…feed.post/<rkey>"`); outline tags have no
# '#', so a post that has any is wanted.
LINE_RULES = (LineRule(b'{"did"', must_hold=b'app.bsky.feed.post"', wanted_if=b'"tags":["'),)

SETTINGS = NetworkSettings(
    model=BlueskySettings,
    needs=(
        Need("Jetstream", "listen", (("bluesky_jetstream_url",),), "jetstream"),
        Need("Repository firehose", "listen", (("bluesky_firehose_url",),), "bluesky_firehose"),
        Need(
            "Replies to shoppers",
            "answer",
            (("bluesky_identifier", "bluesky_app_password", "bluesky_pds_url"),),
        ),
    ),
    listeners={"jetstream": "Bluesky Jetstream", "bluesky_firehose": "Bluesky repository firehose"},
)


def _oauth(host: NetworkHost, clients: ClientRegistry) -> OAuthProvider:
    from hashcart.networks.bluesky.oauth import BlueskyOAuth

    return BlueskyOAuth.from_settings(host.effective_settings())


# Built from bluesky/wiring when first needed (see networks/base.Wiring).
_WIRING = Wiring("hashcart.networks.bluesky.wiring")

ADAPTER = NetworkAdapter(
    name=Network.BLUESKY,
    display_name=Network.BLUESKY.display_name,
    decoders={Format.JETSTREAM: decode},
    sniffs=SNIFFS,
    line_rules=LINE_RULES,
    settings=SETTINGS,
    fetcher=_WIRING.fetcher,
    sender=_WIRING.sender,
    listeners=_WIRING.listeners,
    oauth=_oauth,
    connect=CONNECT,
    sign_in_asks=SignInAsks("handle", "Your Bluesky handle", "alice.bsky.social", "username"),
    post_url=post_url,
)
