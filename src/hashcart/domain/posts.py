"""The one normalised social post that everything past `decode` sees.

Each network's decoder turns its payloads into these events; nothing downstream
knows which network's JSON they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hashcart.errors import HashcartError


class Network(StrEnum):
    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"


@dataclass(frozen=True, slots=True)
class Post:
    """One post of any network.

    Ids are the network's own: X's `id_str`, Mastodon's status `id` (as the
    receiving server numbers it, the same numbering `in_reply_to_id` uses) and
    Bluesky's AT-URI. `author_id` is the stable account id (X `user.id_str`,
    Mastodon `account.uri`, Bluesky DID), never the handle.
    """

    network: Network
    post_id: str
    author_id: str
    author_handle: str
    text: str
    created_at: datetime  # timezone-aware, UTC
    # Tag texts without the leading '#', as the payload's own metadata gives them
    # (X entities, Mastodon `tags`, Bluesky tag facets plus the record's `tags`).
    # None when the payload carries no tag metadata: then tags come from the text.
    tags: tuple[str, ...] | None = None
    # Every link the post carries, expanded where the network expanded it
    # (X expanded_url/unwound_url, Mastodon content hrefs and card, Bluesky link
    # facets and embed.external). Plain-text links are found later from `text`.
    urls: tuple[str, ...] = ()
    reply_to_id: str | None = None
    quote_of_id: str | None = None
    is_repost: bool = False
    # True for a later version of an edited post (Mastodon `status.update`,
    # an X post whose edit history starts with another id, a Bluesky update).
    is_edit: bool = False


@dataclass(frozen=True, slots=True)
class PostDeleted:
    """The author deleted a post."""

    network: Network
    post_id: str


@dataclass(frozen=True, slots=True)
class NotAPost:
    """A well-formed event that is not a post (a like, a follow, an identity event)."""

    network: Network
    kind: str


Event = Post | PostDeleted | NotAPost


class DecodeError(HashcartError, ValueError):
    """A payload that is not valid for the format it claims; the reason says why."""
