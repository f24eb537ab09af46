"""Undo on delete: a trigger post its author deleted takes back what it did, when the shop
says so (`undo_on_delete`).

Deletions arrive as each network delivers them (X `delete` / `post.delete` events, Mastodon
`delete` stream events, Bluesky delete commits of app.bsky.feed.post), before or after the
trigger, once or many times. What goes is only what is still open: the cart line or
wish-list entry the trigger made, or its waiting request if the account is not linked yet.
An order is another table and is never touched: what was bought stays bought. No message:
the post it would answer is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hashcart.domain.posts import Network
from hashcart.ports import Repository, StoredPost

# The outcome recorded for a trigger deleted before it acted: it never will.
DELETED = "deleted"

_Key = tuple[Network, str]


def undo_deleted_triggers(repo: Repository, deletions: Sequence[_Key]) -> int:
    """Take back what these deleted posts did as triggers; how many rows went (0 the
    second time: a redelivered deletion changes nothing)."""
    return repo.undo_triggers(deletions)


def without_deleted(
    repo: Repository, ready: list[StoredPost], deleted: set[_Key], at: datetime
) -> list[StoredPost]:
    """`ready` without the triggers whose posts are deleted (in this batch, or remembered
    from an earlier one: a deletion may come first); those get their one action, recorded
    as `deleted`, so they never act later."""
    if not ready:
        return ready
    keys = [(post.network, post.post_id) for post in ready]
    gone = (deleted & set(keys)) | repo.deleted_among([k for k in keys if k not in deleted])
    if not gone:
        return ready
    claimed = repo.claim_actions(sorted(gone), at)
    repo.set_action_outcomes(
        [
            {
                "network": network,
                "trigger_post_id": post_id,
                "outcome": DELETED,
                "customer_id": None,
                "product_id": None,
            }
            for network, post_id in sorted(claimed)
        ]
    )
    return [post for post in ready if (post.network, post.post_id) not in gone]
