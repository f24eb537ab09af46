"""Forgetting one network account: what happens when it is deleted, taken down, or no
longer lets the shop's app in (X `oauth.revoke`, a Bluesky `#account` event saying deleted
or takendown, a Mastodon account that is gone).

The account's link to a shopper goes, and its tokens with it; the posts we kept of it go
(their text and their rows: triggers and anything else it wrote), with the requests still
waiting for it to link and the daily "link your account" marks. What the shopper did with
the shop stays: their cart and wish list (the shop's records of what they asked for, not
the account's posts), their orders, and the actions taken (they keep redelivered posts
from acting twice).

Runs in the caller's transaction (a connection or a unit of work's), so it commits with
whatever decided it; running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from hashcart.store import schema as t


@dataclass(frozen=True)
class Forgotten:
    """What forgetting an account removed."""

    links: int = 0
    tokens: int = 0
    posts: int = 0
    pending_intents: int = 0

    @property
    def anything(self) -> bool:
        return any((self.links, self.tokens, self.posts, self.pending_intents))


def forget_network_account(connection: Connection, network: str, account_id: str) -> Forgotten:
    """Remove the link, tokens, stored posts and waiting requests of `account_id` on
    `network`; the shopper's cart, wish list and orders stay."""
    links, tokens, posts = t.account_links, t.account_tokens, t.posts
    link_ids = list(
        connection.scalars(
            select(links.c.id).where(links.c.network == network, links.c.account_id == account_id)
        )
    )
    dropped_tokens = 0
    if link_ids:
        # The foreign key cascades too, but SQLite enforces it only with foreign_keys on:
        # the tokens are deleted here by name, whatever the connection's pragmas.
        dropped_tokens = connection.execute(
            delete(tokens).where(tokens.c.link_id.in_(link_ids))
        ).rowcount
    dropped_links = connection.execute(
        delete(links).where(links.c.network == network, links.c.account_id == account_id)
    ).rowcount
    post_ids = select(posts.c.post_id).where(
        posts.c.network == network, posts.c.author_id == account_id
    )
    connection.execute(
        delete(t.post_products).where(
            t.post_products.c.network == network, t.post_products.c.post_id.in_(post_ids)
        )
    )
    dropped_posts = connection.execute(
        delete(posts).where(posts.c.network == network, posts.c.author_id == account_id)
    ).rowcount
    intents = t.pending_intents
    dropped_intents = connection.execute(
        delete(intents).where(intents.c.network == network, intents.c.account_id == account_id)
    ).rowcount
    notices = t.link_notices
    connection.execute(
        delete(notices).where(notices.c.network == network, notices.c.account_id == account_id)
    )
    # Offers by hashtag (issue 12): its offer posts still waiting for it to link go too;
    # offers it loaded stay on the shopper's account, like their cart.
    loads = t.offer_loads
    connection.execute(
        delete(loads).where(
            loads.c.network == network,
            loads.c.account_id == account_id,
            loads.c.status == "pending",
        )
    )
    return Forgotten(dropped_links, dropped_tokens, dropped_posts, dropped_intents)
