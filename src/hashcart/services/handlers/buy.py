"""`#buy` under a product post: the product quoted (services/buying.quote_buy), its stock
held for the confirm window, and a one-time code sent: `buy_confirm_needed`. No saved card:
`payment_method_needed` with the account page's address; no saved shipping address and no
earlier order to ship to: `address_needed` with the account page's address section, nothing
held; over the day's limit: `limit_reached`. An account not linked yet waits as a pending
intent like a `#cart`, and when it links the request becomes a fresh confirm request, never a
purchase without a confirm. With `checkout_at_store` and a product of the merchant's own
store (issue 16) no card and no address are asked for: the request's gateway is `store`,
and the confirmed buy is handed to the store (services/buying), which takes the payment.
Runs in the batch's transaction (or the link's): nothing here asks a gateway."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hashcart.domain.buying import (
    AT_STORE,
    Quote,
    buy_holder,
    confirm_by,
    money,
    new_code,
    over_daily_limit,
)
from hashcart.domain.carts import cart_refusal
from hashcart.domain.messages import BuyFacts, Reason
from hashcart.ports import BuyRecords, NewBuyRequest, OutOfStock
from hashcart.services.buying import address_url, day_start, payment_url, quote_buy
from hashcart.services.handlers.base import Decision, ListRequest, ReplyBatch, ReplyHandler

# Codes tried before giving up on a free one (29^4 codes, few open at once: never reached).
_CODE_TRIES = 50


def request_buys(batch: ReplyBatch, requests: Sequence[ListRequest]) -> list[Decision]:
    """The buy handler: each linked shopper's `#buy`, quoted, held and answered."""
    records = batch.repo.buys
    return [_request_one(batch, records, request) for request in requests]


def _request_one(batch: ReplyBatch, records: BuyRecords, request: ListRequest) -> Decision:
    shop, at = batch.shop, batch.at
    title = shop.title(request.product_id)
    quantity = max(1, min(request.quantity, shop.max_quantity))
    facts = BuyFacts(
        confirm_tag=shop.confirm_tag,
        minutes=shop.buy_confirm_minutes,
        payment_url=payment_url(shop),
        address_url=address_url(shop),
    )
    if cart_refusal(shop.availability(request.product_id)) is not None:
        return Decision(Reason.UNAVAILABLE, title, quantity, "cart", {"buy": facts})
    quote = quote_buy(batch.repo, shop, request.customer_id, request.product_id, quantity, at)
    if quote is None:
        return Decision(Reason.UNAVAILABLE, title, quantity, "cart", {"buy": facts})
    at_store = shop.paid_at_store(quote.product_id)
    method = None
    if at_store:
        # Paid at the merchant's store (issue 16): no card, no address (the store's checkout
        # asks), and none of hashcart's offers (the store prices it).
        quote = replace(quote, offer=None)
    else:
        method = records.saved_method(request.customer_id)
        if method is None:
            return _decided(Reason.PAYMENT_METHOD_NEEDED, quote, facts)
        if records.shipping_address(request.customer_id) is None:
            return _decided(Reason.ADDRESS_NEEDED, quote, facts)
    facts = _with(
        facts,
        at_store=at_store,
        total=money(quote.total, quote.currency),
        last4="" if method is None else method.last4,
        offer_off="" if quote.offer is None else money(quote.discount, quote.currency),
        offer_tag="" if quote.offer is None else quote.offer.tag,
    )
    day = day_start(at)
    spent = records.spent(request.customer_id, quote.currency, day, day + timedelta(days=1))
    if over_daily_limit(spent, quote.total, shop.buy_daily_limit):
        return _decided(
            Reason.LIMIT_REACHED,
            quote,
            _with(facts, limit=money(shop.buy_daily_limit, quote.currency)),
        )
    key = secrets.token_urlsafe(24)
    expires = confirm_by(at, shop.buy_confirm_minutes)
    try:
        records.hold(buy_holder(key), quote.product_id, quote.quantity, at, expires)
    except OutOfStock:
        return Decision(Reason.UNAVAILABLE, title, quantity, "cart", {"buy": facts})
    made = records.add(
        NewBuyRequest(
            network=str(request.network),
            account_id=request.account_id,
            account_handle=request.handle,
            customer_id=request.customer_id,
            product_id=quote.product_id,
            title=quote.title,
            quantity=quote.quantity,
            unit_price=quote.unit_price,
            currency=quote.currency,
            code=_free_code(records),
            buy_key=key,
            gateway=AT_STORE if method is None else method.gateway,
            method_id="" if method is None else method.method_id,
            card_last4="" if method is None else method.last4,
            created_at=at,
            expires_at=expires,
            source_post_id=records.parent_of(str(request.network), request.trigger_post_id) or "",
            trigger_post_id=request.trigger_post_id,
            offer_id=None if quote.offer is None else quote.offer.offer_id,
            offer_load_id=None if quote.offer is None else quote.offer.load_id,
            discount_amount=None if quote.offer is None else quote.discount,
            offer_label=None if quote.offer is None else quote.offer.label,
        )
    )
    if made is None:  # the trigger made its request before (the engine claims triggers once)
        records.release(buy_holder(key), at)
        made = records.with_trigger(str(request.network), request.trigger_post_id)
        if made is None:
            return Decision(Reason.UNAVAILABLE, title, quantity, "cart", {"buy": facts})
    return _decided(Reason.BUY_CONFIRM_NEEDED, quote, _with(facts, code=made.code))


def _decided(reason: Reason, quote: Quote, facts: BuyFacts) -> Decision:
    return Decision(reason, quote.title, quote.quantity, "cart", {"buy": facts})


def _with(facts: BuyFacts, **changes: Any) -> BuyFacts:
    return replace(facts, **changes)


def _free_code(records: BuyRecords) -> str:
    for _ in range(_CODE_TRIES // 10):
        candidates = {new_code() for _ in range(10)}
        free = sorted(candidates - records.codes_in_use(candidates))
        if free:
            return free[0]
    raise RuntimeError("no free buy code: too many open buy requests")


HANDLER = ReplyHandler(request_buys)
