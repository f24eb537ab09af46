"""`#wishlist`: the parent's product on the shopper's wish list. Any product the post
names may be wished for, available or not (that is what a wish list is for)."""

from __future__ import annotations

from collections.abc import Sequence

from hashcart.domain.messages import Reason
from hashcart.services.handlers.base import (
    Decision,
    ListRequest,
    ReplyBatch,
    ReplyHandler,
    add_entries,
)


def act(batch: ReplyBatch, requests: Sequence[ListRequest]) -> list[Decision]:
    fresh = add_entries(batch, "wishlist", [(r, r.product_id, r.quantity) for r in requests])
    return [
        Decision(
            Reason.WISHLISTED if new else Reason.ALREADY_WISHLISTED,
            batch.shop.title(r.product_id),
            r.quantity,
            "wishlist",
        )
        for r, new in zip(requests, fresh, strict=True)
    ]


HANDLER = ReplyHandler(act)
