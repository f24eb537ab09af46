"""The shop's own social accounts (the setting `shop_accounts`): whose posts are the shop's.

Each entry is `network:account`, the account being a handle without its `@` (matched
ignoring case, as networks treat handles) or the stable account id (matched exactly):

    x:trailhead                          x:1900000000000000001
    mastodon:trailhead@coffee.social     mastodon:https://coffee.social/users/trailhead
    bluesky:did:plc:abc123…              (Jetstream carries no handles: use the DID)

Only the first `:` separates the network, since ids such as DIDs and URIs contain more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hashcart.domain.posts import Network, network_names

# posts.author_id holds at most this many characters: a longer account can match nothing.
MAX_ACCOUNT = 300
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class ShopAccount:
    network: Network
    account: str  # a handle without '@', or the network's stable account id

    def __str__(self) -> str:
        return f"{self.network.value}:{self.account}"

    def is_author(self, network: Network, author_id: str, author_handle: str) -> bool:
        """Whether this is the account of a post's author: the stable id exactly, or the
        handle ignoring case (and its `@`)."""
        if network is not self.network:
            return False
        handle = author_handle.removeprefix("@")
        return author_id == self.account or (
            bool(handle) and handle.casefold() == self.account.casefold()
        )


def parse_shop_account(entry: str) -> ShopAccount:
    """`x:trailhead` as a ShopAccount; ValueError saying what is wrong otherwise."""
    network_text, colon, account = entry.strip().partition(":")
    if not colon:
        raise ValueError(
            f"shop account {entry!r} is not like 'x:handle' (network, a colon, the account)"
        )
    try:
        network = Network(network_text.strip().lower())
    except ValueError:
        raise ValueError(
            f"shop account {entry!r} names no network we know (one of {', '.join(network_names())})"
        ) from None
    account = account.strip()
    if not account:
        raise ValueError(f"shop account {entry!r} names no account after the colon")
    if account.startswith("@"):
        raise ValueError(f"shop account {entry!r}: write the handle without its '@'")
    if _SPACE.search(account) or not account.isprintable():
        raise ValueError(f"shop account {entry!r} has a space or a control character in it")
    if len(account) > MAX_ACCOUNT:
        raise ValueError(f"shop account {entry[:40]!r}… is longer than {MAX_ACCOUNT} characters")
    return ShopAccount(network, account)


def parse_shop_accounts(entries: Iterable[str]) -> tuple[ShopAccount, ...]:
    """Every entry parsed (ValueError for the first that is not an account), duplicates once."""
    if isinstance(entries, str):  # one entry, not a sequence of one-letter entries
        raise TypeError("parse_shop_accounts takes an iterable of entries, not one string")
    found: dict[ShopAccount, None] = {}
    for entry in entries:
        found.setdefault(parse_shop_account(entry))
    return tuple(found)
