"""`#cartlink CODE`: a post (no reply needed) that links its author's account to the
customer whose account page showed the code (services/link_codes).

The link kind's handler lives here, beside the use cases it builds on, not in handlers/:
linking an account applies its pending intents through services/actions, which dispatches
to the handlers; inside that package it would make the package import itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hashcart.domain.kinds import LINK
from hashcart.domain.link_codes import parse_link_request
from hashcart.domain.posts import Post
from hashcart.ports import Repository
from hashcart.services.counts import IngestStats
from hashcart.services.handlers import register
from hashcart.services.handlers.base import PostHandler
from hashcart.services.link_codes import LinkPost, link_by_codes
from hashcart.services.shop import Shop


def read(post: Post, shop: Shop) -> LinkPost | None:
    link = parse_link_request(post.text, post.tags, shop.link_words)
    if link is None:
        return None
    return LinkPost(
        post.network,
        post.post_id,
        post.author_id,
        post.author_handle,
        post.created_at,
        link.code,
    )


def act(
    repo: Repository, shop: Shop, posts: Sequence[LinkPost], now: datetime, stats: IngestStats
) -> None:
    counts = link_by_codes(repo, shop, posts, now)
    stats.links += counts.linked
    stats.link_codes_invalid += counts.invalid
    stats.links_refused += counts.refused
    stats.duplicates += counts.repeated
    stats.actions.messages += counts.messages


HANDLER = PostHandler(read, act)
register(LINK, HANDLER)
