"""`#cart`: the parent's product in the shopper's cart, by the cart rules for replies
(domain/carts: unavailable products refused, a product already there left as it is)."""

from __future__ import annotations

from collections.abc import Sequence

from hashcart.domain.carts import REPLY_ADD, cart_refusal, new_line_quantity
from hashcart.domain.messages import Reason
from hashcart.services.handlers.base import (
    Decision,
    ListRequest,
    ReplyBatch,
    ReplyHandler,
    add_entries,
)


def act(batch: ReplyBatch, requests: Sequence[ListRequest]) -> list[Decision]:
    shop = batch.shop
    # Refused: not in the catalog (it changed since the parent was read) or not buyable now.
    # A reply has one wording for both (see domain/carts, "A product not in the catalog").
    refused = [cart_refusal(shop.availability(r.product_id)) is not None for r in requests]
    quantities = [new_line_quantity(REPLY_ADD, r.quantity, shop.max_quantity) for r in requests]
    wanted = [
        (r, r.product_id, quantity)
        for r, quantity, no in zip(requests, quantities, refused, strict=True)
        if not no
    ]
    fresh = iter(add_entries(batch, "cart", wanted))
    decisions: list[Decision] = []
    for request, quantity, no in zip(requests, quantities, refused, strict=True):
        title = shop.title(request.product_id)
        if no:
            reason = Reason.UNAVAILABLE
        else:
            reason = Reason.ADDED if next(fresh) else Reason.ALREADY_IN_CART
        decisions.append(Decision(reason, title, quantity, "cart"))
    return decisions


HANDLER = ReplyHandler(act)
