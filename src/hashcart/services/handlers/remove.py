"""`#cart remove` (or `#cart undo`): the product the post names out of the shopper's cart.

The product is found as for `#cart` (position, the parent's only product, the variant the
words pick). A linked shopper's cart line goes (`removed`), or they hear it was not there
(`not_in_cart`). An account not linked yet has no cart: its waiting `#cart` requests for
that product are taken back instead, at once, so nothing is added when it links. Orders
are never touched: what was bought stays bought.
"""

from __future__ import annotations

from collections.abc import Sequence

from hashcart.domain.carts import ListKind
from hashcart.domain.messages import Reason
from hashcart.services.handlers.base import (
    Decision,
    ListRequest,
    ReplyBatch,
    ReplyHandler,
    UnlinkedRequest,
)

# The list a removal takes from: the kind it follows (domain/kinds REMOVE, `#cart`).
_FROM: ListKind = "cart"


def act(batch: ReplyBatch, requests: Sequence[ListRequest]) -> list[Decision]:
    removed = batch.repo.remove_list_entries(
        _FROM, [(r.customer_id, r.product_id) for r in requests]
    )
    decisions: list[Decision] = []
    for request in requests:
        key = (request.customer_id, request.product_id)
        # The first request for a line takes it; a second in the batch finds it gone.
        reason = Reason.REMOVED if key in removed else Reason.NOT_IN_CART
        removed.discard(key)
        decisions.append(Decision(reason, batch.shop.title(request.product_id), 1, _FROM))
    return decisions


def act_unlinked(batch: ReplyBatch, requests: Sequence[UnlinkedRequest]) -> list[Decision]:
    decisions: list[Decision] = []
    for request in requests:
        taken_back = batch.repo.cancel_waiting_intents(
            request.network, request.account_id, _FROM, request.product_id
        )
        reason = Reason.REMOVED if taken_back else Reason.NOT_IN_CART
        decisions.append(Decision(reason, batch.shop.title(request.product_id), 1, _FROM))
    return decisions


HANDLER = ReplyHandler(act, act_unlinked)
