"""`#summer20`: a shopper's post with an offer's tag loads the offer (issue 12, offers).

A post of its own (Grammar.POST): any post, or a reply to the shop's offer post. `read`
runs on every post the prefilter lets through, so it only looks the post's tags up in the
shop's words (a cached dict); the store is asked in `act`, once per batch
(services/offer_loads). The shop's own posts (its offer post says the tag) never load.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hashcart.domain.hashtags import hashtags
from hashcart.domain.kinds import OFFER
from hashcart.domain.posts import Post
from hashcart.ports import Repository
from hashcart.services.counts import IngestStats
from hashcart.services.handlers.base import PostHandler
from hashcart.services.offer_loads import OfferAsk, load_offers
from hashcart.services.shop import Shop


def read(post: Post, shop: Shop) -> OfferAsk | None:
    words = shop.every_word
    if not words.tags_of(OFFER.name):
        return None
    tags = post.tags if post.tags is not None else hashtags(post.text)
    for tag in tags:
        if words.kind_of(tag) == OFFER.name:
            if shop.is_own(post):
                return None
            return OfferAsk(
                post.network,
                post.post_id,
                post.author_id,
                post.author_handle,
                post.created_at,
                tag,
                post.reply_to_id or post.quote_of_id,
            )
    return None


def act(
    repo: Repository, shop: Shop, asks: Sequence[OfferAsk], now: datetime, stats: IngestStats
) -> None:
    counts, messages = load_offers(repo, shop, asks, now)
    stats.duplicates += counts.duplicates
    stats.actions.pending += counts.pending
    stats.actions.messages += messages


HANDLER = PostHandler(read=read, act=act)
