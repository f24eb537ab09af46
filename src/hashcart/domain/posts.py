"""The one normalised social post that everything past `decode` sees.

Each network's decoder turns its payloads into these events; nothing downstream
knows which network's JSON they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from hashcart.errors import HashcartError

# A network's name is stored in String(16) columns and written in URLs (/webhooks/<name>).
_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
# Networks declared besides the built-in three (see Network.declare), by name.
_declared: dict[str, Network] = {}
# How a person reads each network's name: the one map of it (pages, replies, emails).
_display_names = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky"}


class Network(StrEnum):
    """A network's short name: the three built in, and any other a network adapter declared
    when it was registered (networks/registry), so adding a network never edits this file.

    Declared names are members too (`Network("acme")` works once "acme" is declared and raises
    ValueError before, as for any unknown name), but iterating `Network` gives the built-in
    three only: ask the network registry for every registered network.
    """

    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"

    @property
    def display_name(self) -> str:
        """The name as a person reads it ("Mastodon")."""
        return display_name(self.value)

    @classmethod
    def declare(cls, name: str, display_name: str | None = None) -> Network:
        """The network named `name`, declared now if it is not yet; `display_name` (the
        name itself when not given) is how pages and messages write it."""
        try:
            member = cls(name)
        except ValueError:
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a usable network name: a lower-case letter, then up "
                    "to 15 lower-case letters, digits or _"
                ) from None
            member = str.__new__(cls, name)
            member._name_ = name.upper()
            member._value_ = name
            _declared[name] = member
        if display_name is not None:
            _display_names.setdefault(name, display_name)
        return member

    @classmethod
    def forget(cls, name: str) -> None:
        """Undo `declare` for a declared name (a network unregistered: tests register their
        own and clean up after); the built-in three stay."""
        if _declared.pop(name, None) is not None:
            _display_names.pop(name, None)

    @classmethod
    def _missing_(cls, value: Any) -> Network | None:
        return _declared.get(value) if isinstance(value, str) else None


def network_names() -> tuple[str, ...]:
    """Every network name known here: the built-in three, then those declared (each
    registered network declares its name; the registry says which are registered now)."""
    return (*(network.value for network in Network), *_declared)


def display_name(network: str) -> str:
    """How a person reads `network`: its display name, or the name itself for one that is
    no declared network (the outbox's "email")."""
    return _display_names.get(network, network)


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
    # True for a later version of an edited post (an X post whose edit history starts with
    # another id, a Bluesky update): never acted on.
    is_edit: bool = False
    # True for a version of a post that was edited and kept its id (Mastodon's `edited_at`,
    # `status.update`). Only an edit of a post hashcart stored is skipped: one it never saw
    # is the first version it sees (catch-up lists a status as it is now), a new post.
    edited_in_place: bool = False


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


@dataclass(frozen=True, slots=True)
class AccountGone:
    """The network says an account is gone for the shop: deleted, taken down, or it revoked
    the shop's app. Its link, tokens and stored posts are forgotten (store/forget.py)."""

    network: Network
    account_id: str
    why: str


Event = Post | PostDeleted | AccountGone | NotAPost


class DecodeError(HashcartError, ValueError):
    """A payload that is not valid for the format it claims; the reason says why."""
