"""`#confirm CODE`: the same account's buy claimed by one conditional update, once, and
paid for after the batch's transaction commits (services/buying.settle_confirmed).

A confirm of another account's code, an unknown code, a second confirm and a confirm without
a code are recorded and answered with silence (a reply to another account's code would tell
it the code exists; an unknown code gets the same silence so the two cannot be told apart).
A code whose window passed is answered `confirm_expired`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.buying import PAYING_HOLD, buy_holder, code_after_tag
from hashcart.domain.hashtags import hashtags
from hashcart.domain.kinds import CONFIRM
from hashcart.domain.messages import BuyFacts, Reason
from hashcart.domain.posts import Network, Post
from hashcart.domain.triggers import normalize_tag
from hashcart.ports import BuyRecords, Contact, Repository
from hashcart.services.counts import IngestStats
from hashcart.services.handlers.base import PostHandler
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

# Outcomes recorded on a `#confirm` post's action besides Reason values; none is answered.
CONFIRMED = "confirmed"
NO_CODE = "no_code"
UNKNOWN_CODE = "unknown_code"
ALREADY_CONFIRMED = "already_confirmed"


@dataclass(frozen=True, slots=True)
class ConfirmPost:
    """A post carrying a confirm tag; `code` the word after it, when it is a code."""

    network: Network
    post_id: str
    author_id: str
    author_handle: str
    code: str | None


def read_confirm(post: Post, shop: Shop) -> ConfirmPost | None:
    words = shop.every_word
    forms = words.normal_forms_of(CONFIRM.name)
    if not forms:
        return None
    found = post.tags if post.tags is not None else hashtags(post.text)
    if not any(normalize_tag(tag) in forms for tag in found):
        return None
    tags = list(words.tags_of(CONFIRM.name))
    return ConfirmPost(
        post.network,
        post.post_id,
        post.author_id,
        post.author_handle,
        code_after_tag(post.text, tags),
    )


def confirm(
    repo: Repository, shop: Shop, posts: Sequence[ConfirmPost], now: datetime, stats: IngestStats
) -> None:
    """The confirm handler: claim each code for its own account, once."""
    unique = {(post.network, post.post_id): post for post in posts}
    claimed = repo.claim_actions(list(unique), now)
    todo = [post for key, post in unique.items() if key in claimed]
    stats.duplicates += len(unique) - len(todo)
    if not todo:
        return
    records = repo.buys
    contacts = repo.contacts_for_accounts([(post.network, post.author_id) for post in todo])
    notices = Notices(shop)
    outcomes: list[dict[str, object]] = []
    for post in todo:
        outcome, customer_id = _confirm_one(records, shop, post, now, notices, contacts)
        outcomes.append(
            {
                "network": post.network,
                "trigger_post_id": post.post_id,
                "outcome": str(outcome),
                "customer_id": customer_id,
                "product_id": None,
            }
        )
        if outcome == CONFIRMED:
            stats.actions.buys_confirmed += 1
    repo.set_action_outcomes(outcomes)
    stats.actions.messages += notices.flush(repo, now)


def _confirm_one(
    records: BuyRecords,
    shop: Shop,
    post: ConfirmPost,
    now: datetime,
    notices: Notices,
    contacts: Mapping[tuple[Network, str], Contact],
) -> tuple[str, int | None]:
    if post.code is None:
        return NO_CODE, None
    mine = [
        r
        for r in records.with_code(post.code)
        if r.network == post.network and r.account_id == post.author_id
    ]
    if not mine:
        # Unknown, or another account's: the same silence for both.
        return UNKNOWN_CODE, None
    request = mine[0]
    if request.status == "open" and request.expires_at > now:
        if not records.claim_confirm(request.id, post.network, post.author_id, post.post_id, now):
            return ALREADY_CONFIRMED, request.customer_id
        # Held on while it is paid for: the gateway may take a while, or not answer at once.
        holder = buy_holder(request.buy_key)
        records.release(holder, now)
        records.hold(holder, request.product_id, request.quantity, now, now + PAYING_HOLD)
        return CONFIRMED, request.customer_id
    if request.status in ("open", "expired"):
        if request.status == "open":
            records.expire(request.id, now)
            records.release(buy_holder(request.buy_key), now)
        contact = contacts.get((post.network, post.author_id))
        notices.tell(
            post.network,
            post.author_id,
            post.author_handle,
            post.post_id,
            Reason.CONFIRM_EXPIRED,
            contact,
            title=request.title,
            quantity=request.quantity,
            buy=BuyFacts(confirm_tag=shop.confirm_tag, minutes=shop.buy_confirm_minutes),
        )
        return Reason.CONFIRM_EXPIRED, request.customer_id
    return ALREADY_CONFIRMED, request.customer_id


HANDLER = PostHandler(read_confirm, confirm)
