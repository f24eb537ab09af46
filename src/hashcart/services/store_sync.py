"""The merchant's own store (issue 16), as use cases over the unit of work: the catalog sync,
the handoff of a shopper's cart, and the store's orders coming back.

- Sync: every variant the store lists becomes (or updates) a catalog product
  `<store>:<variant id>`, with its price, currency, sellable count, product page URL (the
  link shoppers post, so the shop's hosts are the store's) and its options as colour and size
  (one product's variants share an item group). A variant the store withdrew (disabled, or
  gone from a full listing) is made unsellable, never deleted: carts and orders point at it.
  Stock truth: the catalog's count is the store's sellable count, so hashcart's holds
  (store/stock) never promise more than the store reports; each reservation also reads the
  store's live count first (services/store_stock), and each sync ends the holds whose time
  ran out.
- Handoff: the cart's lines of that store go to the store in one order; hashcart records it
  (its lines and their posts) before the shopper is sent there.
- Orders back: an order placed at the store for a recorded handoff becomes a hashcart order
  whose lines name the posts, so the funnel counts its orders and revenue per post, and the
  handed-off lines leave the cart. Each store order is recorded once (its checkout key).

Nothing talks to the store inside a transaction: the store is asked first, then one unit of
work writes what it said.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hashcart.domain.buying import buy_holder
from hashcart.domain.variants import MAX_GROUP_ID_CHARS, MAX_VALUE_CHARS
from hashcart.errors import HashcartError
from hashcart.ports import (
    Address,
    Clock,
    CommerceStore,
    CustomerSessionLapsed,
    Handoff,
    HandoffLine,
    HandoffSource,
    InventoryItemReader,
    NewOrder,
    OrderLine,
    StoreChange,
    StoreChangeQueue,
    StoreCustomerAccounts,
    StoreCustomerSessions,
    StoreOrder,
    StoreRefused,
    StoreUnreachable,
    StoreVariant,
    SyncRecord,
    UnitOfWork,
    UnitsOfWork,
    store_product_id,
    store_variant_id,
)

log = logging.getLogger(__name__)

# A full listing (which also finds variants gone from the store) at least this often.
FULL_SYNC_EVERY = timedelta(hours=24)
# Orders are asked for from a little before the last poll: the store's clock and ours differ.
ORDER_POLL_OVERLAP = timedelta(minutes=5)
# Vendure's words for an order the shopper has paid for or been promised (and later stages).
PLACED_STATES = frozenset(
    {
        "PaymentAuthorized",
        "PaymentSettled",
        "PartiallyShipped",
        "Shipped",
        "PartiallyDelivered",
        "Delivered",
        "PAID",
        "paid",
        "placed",
    }
)
PAID_STATES = frozenset({"PaymentSettled", "Shipped", "Delivered", "PAID", "paid"})
_COLOR_WORDS = ("color", "colour")
_SIZE_WORDS = ("size",)
_NO_ADDRESS = Address(name="", line1="", line2="", city="", postcode="", country="")


# What a handoff's own reference starts with says where its lines came from: a cart's
# (which leave it when the store's order comes back), a buy with a post's (its stock hold,
# `buy:<key>`, ends then) or a live sale's invoice.
CART_HANDOFF = "cart:"
BUY_HANDOFF = buy_holder("")
INVOICE_HANDOFF = "invoice:"


class NothingToHandOff(HashcartError, ValueError):
    """The shopper's cart holds nothing the store sells."""


def _availability(variant: StoreVariant) -> str:
    if not variant.enabled:
        return "discontinued"
    if variant.stock is not None and variant.stock <= 0:
        return "out_of_stock"
    return "in_stock"


def _option(options: dict[str, str], words: tuple[str, ...]) -> str | None:
    for key, value in options.items():
        if any(word in key.lower() for word in words):
            return value[:MAX_VALUE_CHARS] or None
    return None


def catalog_values(store: str, variant: StoreVariant, now: datetime) -> dict[str, Any]:
    """The catalog row of a store's variant (the products table's columns)."""
    options = dict(variant.options)
    return {
        "product_id": store_product_id(store, variant.variant_id),
        "title": variant.title,
        "link": variant.url,
        "price_amount": variant.price,
        "currency": variant.currency or None,
        "availability": _availability(variant),
        "updated_at": now,
        "item_group_id": store_product_id(store, variant.product_id)[:MAX_GROUP_ID_CHARS],
        "color": _option(options, _COLOR_WORDS),
        "size": _option(options, _SIZE_WORDS),
    }


def sync_catalog(
    units: UnitsOfWork,
    store: CommerceStore,
    clock: Clock,
    *,
    full: bool = False,
    changes: StoreChangeQueue | None = None,
) -> SyncRecord:
    """List the store's catalog and write it into hashcart's; the outcome is recorded for
    the console either way. StoreUnreachable / StoreRefused are recorded, then raised.

    With `changes`, what the store's webhooks announced since (Shopify's `products/update`,
    `inventory_levels/update`, `orders/create`) is applied too: those variants are read
    again one by one, which finds a stock change that moves no variant's `updatedAt` (so a
    listing of the changed ones misses it) without a full listing; their orders are
    recorded. They are marked taken once written, so a sync that fails leaves them waiting."""
    started = clock.now()
    with units() as uow:
        before = uow.store_records.sync_record(store.name)
    if (
        before is None
        or before.last_full_at is None
        or started - before.last_full_at >= FULL_SYNC_EVERY
    ):
        full = True
    since = None if full or before is None else before.last_success_at
    waiting = changes.waiting(store.name) if changes is not None else []
    try:
        found = {variant.variant_id: variant for variant in _changed_variants(store, waiting)}
        listed = _list_all(store, since)
    except (StoreUnreachable, StoreRefused) as error:
        _record_failure(units, store.name, before, started, full, str(error))
        raise
    found.update((variant.variant_id, variant) for variant in listed)
    variants = list(found.values())
    now = clock.now()
    rows = {
        values["product_id"]: values
        for values in (catalog_values(store.name, variant, now) for variant in variants)
    }
    counts = {
        store_product_id(store.name, variant.variant_id): variant.stock for variant in variants
    }
    with units() as uow:
        changed = uow.repository.upsert_products(rows[pid] for pid in sorted(rows))
        uow.repository.set_stock_counts(counts)
        # Holds reconciled with the store's counts: those whose time ran out end now (their
        # units were never the store's to lose), and the live ones count against the new
        # count, never below zero (store/stock); the holds of buys the store took over ended
        # when their orders came back (orders back, below).
        uow.stock.sweep(sorted(counts), now)
        withdrawn = 0
        if full:
            gone = uow.store_records.store_product_ids(store.name) - set(rows)
            withdrawn = uow.store_records.withdraw(sorted(gone), now)
        withdrawn += sum(1 for variant in variants if not variant.enabled)
        for change in waiting:
            if change.order is not None:
                _record_order(uow, store.name, change.order, now)
        record = SyncRecord(
            store=store.name,
            started_at=started,
            finished_at=now,
            full=full,
            seen=len(variants),
            changed=changed,
            withdrawn=withdrawn,
            error=None,
            errors=0,
            last_success_at=started,
            last_full_at=started if full else (before.last_full_at if before else None),
            orders_polled_at=before.orders_polled_at if before else None,
        )
        uow.store_records.save_sync(record)
    if changes is not None and waiting:
        changes.mark_taken(store.name, [change.delivery_id for change in waiting])
    return record


def _changed_variants(store: CommerceStore, waiting: Sequence[StoreChange]) -> list[StoreVariant]:
    """The variants the waiting changes name, read again now (each once)."""
    variant_ids = list(dict.fromkeys(v for change in waiting for v in change.variant_ids))
    items = list(dict.fromkeys(i for change in waiting for i in change.inventory_item_ids))
    found = [variant for v in variant_ids if (variant := store.read_variant(v)) is not None]
    if items and isinstance(store, InventoryItemReader):
        found.extend(store.variants_of_inventory_items(items))
    return found


def _list_all(store: CommerceStore, since: datetime | None) -> list[StoreVariant]:
    variants: list[StoreVariant] = []
    cursor: str | None = None
    while True:
        page = store.list_variants(cursor, since)
        variants.extend(page.variants)
        if page.next_cursor is None or page.next_cursor == cursor:
            return variants
        cursor = page.next_cursor


def _record_failure(
    units: UnitsOfWork,
    store: str,
    before: SyncRecord | None,
    started: datetime,
    full: bool,
    message: str,
) -> None:
    empty = SyncRecord(store, None, None, False, 0, 0, 0, None, 0, None, None, None)
    last = before or empty
    with units() as uow:
        uow.store_records.save_sync(
            replace(
                last,
                started_at=started,
                finished_at=None,
                full=full,
                error=message[:1000],
                errors=last.errors + 1,
            )
        )


def sync_due(record: SyncRecord | None, now: datetime, minutes: float) -> bool:
    """Whether the schedule (`store_sync_minutes`) calls for a sync now."""
    if record is None or record.started_at is None:
        return True
    return now - record.started_at >= timedelta(minutes=minutes)


def sync_if_due(
    units: UnitsOfWork,
    store: CommerceStore,
    clock: Clock,
    minutes: float,
    changes: StoreChangeQueue | None = None,
) -> SyncRecord | None:
    """The scheduled sync (`hashcart serve`, every `store_sync_minutes`): the catalog, then
    the store's orders, when due. A store that fails is recorded (the console shows it) and
    logged, and asked again at the next beat; None when nothing was due."""
    with units() as uow:
        record = uow.store_records.sync_record(store.name)
    if not sync_due(record, clock.now(), minutes):
        return None
    try:
        record = sync_catalog(units, store, clock, changes=changes)
        poll_orders(units, store, clock)
    except (StoreUnreachable, StoreRefused) as error:
        log.warning("the sync with %s failed: %s", store.label, error)
        with units() as uow:
            return uow.store_records.sync_record(store.name)
    return record


# --- the handoff ------------------------------------------------------------------------


def hand_off_cart(
    units: UnitsOfWork,
    store: CommerceStore,
    clock: Clock,
    customer_id: int,
    email: str | None,
    accounts: StoreCustomerSessions | None = None,
) -> Handoff:
    """Hand the shopper's cart lines of this store over (to their own active order there
    when they linked their store account, `accounts`); where they finish. The lines stay
    in the cart until the store's order comes back (orders_back)."""
    with units() as uow:
        items = uow.carts.items("cart", customer_id)
    sources: list[HandoffSource] = []
    for item in items:
        if store_variant_id(store.name, item.product_id) is None or not item.available:
            continue
        origin = item.origin
        has_post = origin.network is not None and origin.post_id is not None
        sources.append(
            HandoffSource(
                item.product_id,
                item.quantity,
                origin.network if has_post else None,
                origin.post_id if has_post else None,
                origin.trigger_post_id if has_post else None,
            )
        )
    if not sources:
        raise NothingToHandOff(f"nothing in this cart can be bought at {store.label}")
    reference = f"{CART_HANDOFF}{secrets.token_hex(16)}"
    return _hand_over(units, store, clock, customer_id, email, sources, reference, accounts)


def hand_off_invoice(
    units: UnitsOfWork,
    store: CommerceStore,
    clock: Clock,
    customer_id: int,
    email: str | None,
    invoice_id: int,
    accounts: StoreCustomerSessions | None = None,
) -> Handoff:
    """Hand the items the shopper won in a live sale and has not paid for yet (their open
    invoice's held items of this store) over, to be paid at the store (`checkout_at_store`);
    where they finish. The items stay held for the shopper meanwhile, as on any invoice."""
    with units() as uow:
        found = uow.store_records.invoice_lines(customer_id, invoice_id)
    sources = [s for s in found if store_variant_id(store.name, s.product_id) is not None]
    if not sources:
        raise NothingToHandOff(f"nothing on this invoice can be paid at {store.label}")
    reference = f"{INVOICE_HANDOFF}{invoice_id}:{secrets.token_hex(12)}"
    return _hand_over(units, store, clock, customer_id, email, sources, reference, accounts)


def _hand_over(
    units: UnitsOfWork,
    store: CommerceStore,
    clock: Clock,
    customer_id: int,
    email: str | None,
    sources: Sequence[HandoffSource],
    reference: str,
    accounts: StoreCustomerSessions | None,
) -> Handoff:
    handoff = None
    if accounts is not None:
        handoff = to_own_order(store, accounts, customer_id, sources, reference)
    if handoff is None:
        handoff = ask_store(store, sources, email, reference)
    with units() as uow:
        uow.store_records.add_handoff(
            store.name, reference, handoff, customer_id, sources, clock.now()
        )
    return handoff


def to_own_order(
    store: CommerceStore,
    accounts: StoreCustomerSessions,
    customer_id: int,
    sources: Sequence[HandoffSource],
    reference: str,
) -> Handoff | None:
    """The lines in the shopper's own active order at the store, when they linked their
    store account; None (a guest order then) when they did not, or its session lapsed (the
    link is dropped: they see it gone on their account page and link again)."""
    if not isinstance(store, StoreCustomerAccounts):
        return None
    session = accounts.session(store.name, customer_id)
    if session is None:
        return None
    try:
        return store.hand_off_to_customer(_lines_of(store, sources), session, reference)
    except CustomerSessionLapsed:
        accounts.forget(store.name, customer_id)
        return None


def link_store_account(
    store: CommerceStore,
    accounts: StoreCustomerSessions,
    customer_id: int,
    email: str,
    password: str,
) -> None:
    """Sign the shopper in to their account at the store and keep the session (sealed), so
    their handoffs go to their own active order there. StoreRefused in the store's words
    (a wrong password), or when the store has no customer accounts hashcart can use."""
    if not isinstance(store, StoreCustomerAccounts):
        raise StoreRefused(f"{store.label} accounts cannot be linked here")
    session = store.sign_in_customer(email, password)
    accounts.keep(store.name, customer_id, email, session)


def _lines_of(store: CommerceStore, sources: Sequence[HandoffSource]) -> list[HandoffLine]:
    lines = [
        HandoffLine(variant_id, source.quantity)
        for source in sources
        if (variant_id := store_variant_id(store.name, source.product_id)) is not None
    ]
    if not lines:
        raise NothingToHandOff(f"nothing here can be bought at {store.label}")
    return lines


def ask_store(
    store: CommerceStore, sources: Sequence[HandoffSource], email: str | None, reference: str
) -> Handoff:
    """The store's order (or cart) for these lines of its own products, made now (outside
    any transaction; the caller records it with `store_records.add_handoff`)."""
    return store.hand_off(_lines_of(store, sources), email, reference)


# --- orders back ------------------------------------------------------------------------


def poll_orders(units: UnitsOfWork, store: CommerceStore, clock: Clock) -> int:
    """Ask the store for orders placed since the last poll and record those of handoffs;
    how many were recorded now."""
    with units() as uow:
        before = uow.store_records.sync_record(store.name)
    asked_at = clock.now()
    polled = before.orders_polled_at if before else None
    orders = store.orders_since(None if polled is None else polled - ORDER_POLL_OVERLAP)
    recorded = 0
    with units() as uow:
        for order in orders:
            recorded += _record_order(uow, store.name, order, asked_at)
        record = uow.store_records.sync_record(store.name) or SyncRecord(
            store.name, None, None, False, 0, 0, 0, None, 0, None, None, None
        )
        uow.store_records.save_sync(replace(record, orders_polled_at=asked_at))
    return recorded


def _record_order(uow: UnitOfWork, store: str, order: StoreOrder, now: datetime) -> int:
    if order.state not in PLACED_STATES or order.handoff_reference is None:
        return 0
    handoff = uow.store_records.handoff(store, order.handoff_reference)
    if handoff is None or handoff.customer_id is None:
        return 0  # an order made at the store without hashcart (or its shopper left)
    key = f"store:{store}:{order.reference}"[:64]
    status = "paid" if order.state in PAID_STATES else "placed"
    existing = uow.orders.with_key(key)
    if existing is not None:
        uow.orders.set_status(existing.id, status)
        uow.store_records.set_handoff_order(handoff.id, existing.id, order.state)
        return 0
    sources = {source.product_id: source for source in handoff.lines}
    titles = uow.store_records.product_titles(
        [store_product_id(store, line.variant_id) for line in order.lines]
    )
    lines: list[OrderLine] = []
    for line in order.lines:
        product_id = store_product_id(store, line.variant_id)
        source = sources.get(product_id)
        lines.append(
            OrderLine(
                product_id=product_id,
                title=titles.get(product_id, product_id),
                unit_price=line.unit_price if line.unit_price is not None else order.total,
                currency=order.currency,
                quantity=line.quantity,
                network=source.network if source else None,
                post_id=source.post_id if source else None,
                trigger_post_id=source.trigger_post_id if source else None,
            )
        )
    order_id = uow.orders.add(
        NewOrder(
            customer_id=handoff.customer_id,
            checkout_key=key,
            status=status,
            email=order.email or "",
            address=_NO_ADDRESS,
            payment_gateway=store,
            payment_reference=order.reference[:100],
            total_amount=order.total,
            currency=order.currency,
            created_at=order.placed_at or now,
            lines=lines,
        )
    )
    uow.store_records.set_handoff_order(handoff.id, order_id, order.state)
    if handoff.reference.startswith(BUY_HANDOFF):
        uow.buys.release(handoff.reference, now)  # the store holds its units now
    elif handoff.reference.startswith(INVOICE_HANDOFF):
        # Paid at the store: the invoice is paid, its held units sold (by this order).
        invoice = handoff.reference.removeprefix(INVOICE_HANDOFF).split(":", 1)[0]
        if invoice.isdigit():
            uow.repository.sales.mark_invoice_paid(int(invoice), now, order_id)
    else:
        uow.carts.remove_products(handoff.customer_id, sorted(sources))
    return 1
