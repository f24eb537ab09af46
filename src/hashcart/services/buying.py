"""Buy with a post (issue 12): a `#buy` quoted and held, its `#confirm CODE` claimed, and
the claimed buys paid for and ordered.

Three steps, each where it must be:

- the `#buy` handler (services/handlers/buy, in the ingest's transaction, or the link's when a
  waiting `#buy` of an account that just linked becomes a fresh request): the quote
  (`quote_buy`, the one place a buy's price is decided), the saved card, the daily limit,
  the stock held for the window, and a one-time code; the answer is `buy_confirm_needed`.
- the `#confirm` handler (services/handlers/confirm, in the ingest's transaction): the same
  account's code, claimed by one conditional update (store/buys), so two confirms at once
  make one claim. The stock stays held while it is paid for.
- `settle_confirmed` (after that transaction commits, never inside one: the gateway is
  asked between units of work): authorise the saved card under the request's own key
  (`buy_key`; the gateways and hashcart's key -> PaymentIntent record answer a repeat with
  the same authorisation), place the order, capture. A gateway that does not answer leaves
  the request confirmed, and the next settle (the payment sweep of `hashcart serve`, the
  next ingest) asks again with the same key: never a second charge.

An open request whose window passed is expired when it is next read (a confirm finds it
expired) and by `expire_due`, which `settle_confirmed` runs first; its stock hold ends by
itself at the same moment (domain/stock: an expired hold stops counting). A declined card
gives the stock back at once: nothing will be bought under that code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hashcart.domain.buying import (
    AT_STORE,
    PAYING_HOLD,
    SETTLE_LEASE,
    Quote,
    QuotedOffer,
    buy_holder,
    money,
)
from hashcart.domain.messages import BuyFacts, Reason
from hashcart.domain.offers import PricedLine
from hashcart.domain.posts import Network
from hashcart.domain.stock import order_holder
from hashcart.ports import (
    Address,
    Authorisation,
    BuyingCustomer,
    BuyRequest,
    Clock,
    CommerceStore,
    GatewayUnreachable,
    HandoffSource,
    NewOrder,
    OrderLine,
    OutOfStock,
    PaymentDetails,
    PaymentGateway,
    Repository,
    StoreCustomerSessions,
    StoreRefused,
    StoreUnreachable,
    UnitsOfWork,
)
from hashcart.services import payments
from hashcart.services.checkout import confirmation_email
from hashcart.services.notify import Notices
from hashcart.services.offers import apply_offer
from hashcart.services.payment_steps import REQUEST_GRACE
from hashcart.services.shop import Shop
from hashcart.services.store_sync import NothingToHandOff, ask_store, to_own_order

log = logging.getLogger(__name__)

SETTLE_BATCH = 50
# A buy handed to the merchant's store (its request's status, and the Settled outcome).
HANDED_OFF = "handed_off"
SECONDS_PER_DAY = 86_400

GatewayFinder = Callable[[str], PaymentGateway | None]


# the quote ---------------------------------------------------------------------------------


def quote_buy(
    repo: Repository,
    shop: Shop,
    customer_id: int,
    product_id: str,
    quantity: int,
    at: datetime,
) -> Quote | None:
    """What `customer_id` pays for `quantity` of `product_id` bought with a post, binding for
    the confirm window; None when it has no price. The one place a buy's price is decided:
    the shopper's loaded offer (services/offers.apply_offer, priced as it stands at `at`,
    no order yet) is taken off here, and the request made of this quote holds that load."""
    priced = repo.buys.priced(product_id)
    if priced is None or priced.price is None or priced.currency is None:
        return None
    line = PricedLine(product_id, priced.price, priced.currency, quantity)
    applied = apply_offer(repo, customer_id, [line], priced.currency, at)
    offer = (
        None
        if applied is None
        else QuotedOffer(
            applied.load_id, applied.offer_id, applied.tag, applied.label, applied.discount
        )
    )
    return Quote(product_id, shop.title(product_id), quantity, priced.price, priced.currency, offer)


def payment_url(shop: Shop) -> str:
    """The account page's card section (`payment_method_needed`, `payment_declined`)."""
    return f"{shop.account_url}#payment"


def address_url(shop: Shop) -> str:
    """The account page's shipping address section (`address_needed`)."""
    return f"{shop.account_url}#address"


def day_start(at: datetime) -> datetime:
    """The start of `at`'s UTC day (the daily limit's day)."""
    seconds = int(at.astimezone(UTC).timestamp()) // SECONDS_PER_DAY * SECONDS_PER_DAY
    return datetime.fromtimestamp(seconds, UTC)


# paying for confirmed buys -----------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """What became of one confirmed buy this time: bought (order_id), declined, or not
    answered (`unreachable`: asked again later under the same key)."""

    request_id: int
    outcome: str  # bought | declined | unreachable | handed_off
    order_id: int | None = None


def expire_due(units: UnitsOfWork, now: datetime) -> int:
    """Expire the open requests whose window passed and give their stock back."""
    with units() as uow:
        ended = uow.buys.expire_due(now)
        for request in ended:
            uow.buys.release(buy_holder(request.buy_key), now)
    return len(ended)


def settle_confirmed(
    units: UnitsOfWork,
    clock: Clock,
    gateway_for: GatewayFinder,
    shop: Shop,
    store: CommerceStore | None = None,
    accounts: StoreCustomerSessions | None = None,
) -> list[Settled]:
    """Pay for every confirmed buy no other process is paying for, each once; a buy paid at
    the merchant's own `store` (`checkout_at_store`) is handed to it instead."""
    now = clock.now()
    expire_due(units, now)
    with units() as uow:
        due = uow.buys.due_to_settle(now, SETTLE_BATCH)
    settled: list[Settled] = []
    for request in due:
        with units() as uow:
            if not uow.buys.claim_settle(request.id, now, now + SETTLE_LEASE):
                continue  # another process took it
        if request.gateway == AT_STORE:
            settled.append(_hand_to_store(units, clock, shop, request, store, accounts))
        else:
            settled.append(_settle_one(units, clock, gateway_for, shop, request))
    return settled


def _hand_to_store(
    units: UnitsOfWork,
    clock: Clock,
    shop: Shop,
    request: BuyRequest,
    store: CommerceStore | None,
    accounts: StoreCustomerSessions | None,
) -> Settled:
    """A confirmed buy paid at the merchant's store (issue 16): its line handed to the store
    (the handoff recorded with the post it came from, so the store's order counts in the
    funnel when it comes back), and `finish_at_store` with the store's checkout link answers
    the `#confirm`. Nothing is charged here. The stock stays held until the store's order
    comes back (or the paying hold ends). A store that does not answer is asked again at the
    next settle, like a gateway; one that refuses (out of stock) ends it `unavailable`."""
    now = clock.now()
    with units() as uow:
        customer = uow.buys.customer(request.customer_id)
    if store is None or customer is None:
        return _declined(
            units, shop, request, "the store is not available", now, Reason.UNAVAILABLE
        )
    source = HandoffSource(
        request.product_id,
        request.quantity,
        request.network,
        request.source_post_id or None,
        request.trigger_post_id,
    )
    reference = buy_holder(request.buy_key)
    try:
        handoff = (
            None
            if accounts is None
            else to_own_order(store, accounts, customer.id, [source], reference)
        ) or ask_store(store, [source], customer.email, reference)
    except StoreUnreachable as error:
        log.warning(
            "buy %s: %s did not answer (%s); asked again later", request.id, store.label, error
        )
        if now >= request.expires_at + PAYING_HOLD:
            return _declined(units, shop, request, str(error), now, Reason.UNAVAILABLE)
        return Settled(request.id, "unreachable")
    except (StoreRefused, NothingToHandOff) as refused:
        return _declined(units, shop, request, str(refused), now, Reason.UNAVAILABLE)
    with units() as uow:
        if uow.buys.finish(request.id, HANDED_OFF, now):
            uow.store_records.add_handoff(
                store.name, reference, handoff, customer.id, [source], now
            )
            _tell(
                uow.repository,
                shop,
                request,
                Reason.FINISH_AT_STORE,
                now,
                store=store.label,
                checkout_url=handoff.checkout_url,
            )
    return Settled(request.id, HANDED_OFF)


def _settle_one(
    units: UnitsOfWork, clock: Clock, gateway_for: GatewayFinder, shop: Shop, request: BuyRequest
) -> Settled:
    now = clock.now()
    with units() as uow:
        customer = uow.buys.customer(request.customer_id)
    if customer is not None and payments.nothing_to_pay(request.total):
        return _settle_free(units, clock, shop, request, customer)
    gateway = gateway_for(request.gateway)
    if gateway is None or customer is None:
        why = "the card's payment service is not available"
        return _declined(units, shop, request, why, clock.now())
    try:
        record = payments.authorise_once(
            units,
            gateway,
            request.total,
            request.currency,
            PaymentDetails(
                fields={"saved_method": request.method_id},
                idempotency_key=request.buy_key,
                today=now.date(),
                customer_email=customer.email,
            ),
            now,
        )
    except GatewayUnreachable:
        log.warning("buy %s: the payment gateway did not answer; asked again later", request.id)
        if now >= request.expires_at + PAYING_HOLD:
            # It never answered while the stock was held: give up, and cancel whatever the
            # key may have authorised (void answers "nothing charged" when it made nothing).
            payments.void(units, gateway, request.buy_key, now)
            return _declined(units, shop, request, "the payment service did not answer", now)
        return Settled(request.id, "unreachable")
    if record.status in ("declined", "voided") or record.pending_step == "void":
        if record.status == "authorised":
            payments.void(units, gateway, request.buy_key, now)
        return _declined(units, shop, request, record.message, clock.now())
    try:
        order_id = _place(
            units, shop, request, customer, record.gateway, record.authorisation, clock.now()
        )
    except OutOfStock:
        # Cannot happen while the hold stands (it is held until paid for); if it ran out and
        # the units went elsewhere, nothing is bought and the authorisation is cancelled.
        payments.void(units, gateway, request.buy_key, clock.now())
        return _declined(units, shop, request, "it sold out", clock.now())
    payments.capture(units, gateway, request.buy_key, clock.now())
    return Settled(request.id, "bought", order_id)


def _settle_free(
    units: UnitsOfWork, clock: Clock, shop: Shop, request: BuyRequest, customer: BuyingCustomer
) -> Settled:
    """A buy its offer pays for in full: the order is placed paid, and no gateway is asked
    (nothing to authorise, nothing to capture; services/payments.NO_CHARGE)."""
    free = payments.no_charge(request.buy_key)
    try:
        order_id = _place(units, shop, request, customer, payments.NO_CHARGE, free, clock.now())
    except OutOfStock:
        return _declined(units, shop, request, "it sold out", clock.now())
    return Settled(request.id, "bought", order_id)


def _place(
    units: UnitsOfWork,
    shop: Shop,
    request: BuyRequest,
    customer: BuyingCustomer,
    gateway: str,
    payment: Authorisation,
    now: datetime,
) -> int:
    """The order, the sale of the held units, the capture owed (none without a payment
    record), the receipt and the `purchased` answer, in one unit of work (a twin that placed
    it already wins)."""
    with units() as uow:
        uow.repository.serialize_writers()
        existing = uow.orders.with_key(request.buy_key)
        if existing is not None:
            return existing.id
        # The #buy was answered address_needed when there was none, so there is one.
        address = uow.buys.shipping_address(customer.id) or Address(
            customer.name or "", "", "", "", "", ""
        )
        line = OrderLine(
            product_id=request.product_id,
            title=request.title,
            unit_price=request.unit_price,
            currency=request.currency,
            quantity=request.quantity,
            network=request.network,
            post_id=request.source_post_id or None,
            trigger_post_id=request.trigger_post_id,
        )
        order = NewOrder(
            customer_id=customer.id,
            checkout_key=request.buy_key,
            status="paid" if payment.paid else "placed",
            email=customer.email,
            address=address,
            payment_gateway=gateway,
            payment_reference=payment.reference,
            total_amount=request.total,
            currency=request.currency,
            created_at=now,
            lines=[line],
            offer_id=request.offer_id,
            discount_amount=request.discount_amount,
        )
        order_id = uow.orders.add(order)
        _redeem_quoted(uow.repository, request, order_id, now)
        uow.stock.convert(
            buy_holder(request.buy_key),
            order_holder(order_id),
            {request.product_id: request.quantity},
            reason="buy",
            now=now,
        )
        uow.payments.link_order(request.buy_key, order_id)
        uow.payments.owe(request.buy_key, "capture", now + REQUEST_GRACE)
        uow.buys.finish(request.id, "bought", now, order_id=order_id)
        receipt = confirmation_email(
            order_id,
            order,
            customer,
            payment,
            shop.name,
            _public_url(shop),
            offer_label=request.offer_label,
            templates=shop.templates,
        )
        repo = uow.repository
        repo.queue_emails([receipt], now)
        _tell(repo, shop, request, Reason.PURCHASED, now, order_id=order_id)
        return order_id


def _redeem_quoted(repo: Repository, request: BuyRequest, order_id: int, now: datetime) -> None:
    """Redeem the load the quote took off, by this order. From the quote on, the request
    holds the load (a web checkout skips it: OfferRecords.unredeemed), and a checkout cannot
    have read it just before the quote was written: the ingest and the link that quote, and
    the checkout's place, all take the engine's writer lock (serialize_writers) first.
    Should another order have redeemed it all the same, the quote binds: the shopper pays
    the quoted total, the order records the offer it was priced with, and the load stays
    redeemed once, by that other order: never twice."""
    if request.offer_load_id is None:
        return
    if not repo.offers.redeem(request.offer_load_id, order_id, now):
        log.warning(
            "buy %s: offer load %s was redeemed by another order first; the quote binds",
            request.id,
            request.offer_load_id,
        )


def _declined(
    units: UnitsOfWork,
    shop: Shop,
    request: BuyRequest,
    why: str,
    now: datetime,
    reason: Reason = Reason.PAYMENT_DECLINED,
) -> Settled:
    with units() as uow:
        if uow.buys.finish(request.id, "declined", now, message=why):
            uow.buys.release(buy_holder(request.buy_key), now)
            _tell(uow.repository, shop, request, reason, now, declined=why)
    return Settled(request.id, "declined")


def _tell(
    repo: Repository,
    shop: Shop,
    request: BuyRequest,
    reason: Reason,
    now: datetime,
    *,
    order_id: int | None = None,
    declined: str = "",
    store: str = "",
    checkout_url: str = "",
) -> None:
    """Answer the `#confirm` post the way the shopper chose."""
    contact = repo.contacts_of_customers([request.customer_id]).get(request.customer_id)
    notices = Notices(shop)
    notices.tell(
        Network(request.network),
        request.account_id,
        request.account_handle,
        request.confirm_post_id or request.trigger_post_id,
        reason,
        contact,
        title=request.title,
        quantity=request.quantity,
        buy=BuyFacts(
            total=money(request.total, request.currency),
            last4=request.card_last4,
            order_id=order_id,
            declined=declined,
            payment_url=payment_url(shop),
            store=store,
            checkout_url=checkout_url,
        ),
    )
    notices.flush(repo, now)


def _public_url(shop: Shop) -> str:
    return shop.account_url.removesuffix("/account")
