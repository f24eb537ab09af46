"""`sold 12`, `claim 12 red M`, `pass 12`, `waitlist 12`: a reply to a live sale's post
(issue 13, services/sales).

A post of its own kind (Grammar.POST) with no tag: `read` looks the post's parent up in the
shop's sale posts (a dict) and only then reads the claim grammar (domain/sales), so the many
posts that answer no sale cost one lookup. `act` records the batch's claims and settles what
is due, in the batch's transaction (at most every `claim_step_seconds`: Shop.settles_batch).
The shop's own posts never claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hashcart.domain.posts import Post
from hashcart.domain.sales import parse_claim
from hashcart.ports import Repository
from hashcart.services.counts import IngestStats
from hashcart.services.handlers.base import AfterCommit, PostHandler
from hashcart.services.sales import ClaimAsk, record_claims, settle_winners_first
from hashcart.services.shop import Shop


def read(post: Post, shop: Shop) -> ClaimAsk | None:
    parent = post.reply_to_id or post.quote_of_id
    if parent is None or not shop.sale_posts:
        return None
    sale_id = shop.sale_posts.get((post.network, parent))
    if sale_id is None or shop.is_own(post):
        return None
    claim = parse_claim(post.text, shop.claim_words, shop.max_quantity)
    if claim is None:
        return None
    return ClaimAsk(
        sale_id,
        post.network,
        post.post_id,
        post.author_id,
        post.author_handle,
        post.created_at,
        claim,
    )


def act(
    repo: Repository, shop: Shop, asks: Sequence[ClaimAsk], now: datetime, stats: IngestStats
) -> AfterCommit | None:
    """Record the claims and settle what is due; the step's last waitlisted are written
    after the batch commits (its winners' replies do not wait for them)."""
    stats.actions.claims += record_claims(repo, asks, now)
    if not shop.settles_batch(now):
        return None  # the next batch or the settle timer settles them (claim_step_seconds)
    counts, losers = settle_winners_first(repo, shop, now)
    stats.actions.messages += counts.messages
    if not losers:
        return None

    def write_losers(later: Repository) -> None:
        stats.actions.messages += losers.write(later).messages

    return write_losers


HANDLER = PostHandler(read=read, act=act)
