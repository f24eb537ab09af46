"""The demo's live sale (issue 13): the brand goes live on X and Bluesky with two items, the
demo shoppers reply `sold 1`, `claim 2`, `2` from both networks (each network's real wire
format, as the demo stream writes them), the first by the platform's time win and the rest
wait on the waitlist, and one winner pays their invoice with a saved test card, through
the same path as the invoice page (services/invoice_payment). The console's Sales page then
shows the sale: stock, held, paid, waitlist and the totals.

A rebuilt demo (the database kept) finds the sale and the paid order as they are: the sale's
name and the payment's key are the demo's own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from hashcart.bootstrap import App
from hashcart.ports import Address, NewSaleItem, SaleExists
from hashcart.services import invoice_payment
from hashcart.services.checkout import offer_summary, summary_of
from hashcart.services.ingest import Ingestor
from hashcart.services.payments import TestCardGateway, save_test_card
from hashcart.services.sales import open_sale, settle_sales
from hashcart.synthetic import x
from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._richtext import parse
from hashcart.synthetic.catalog import BRAND, shopper_persona

DEMO_SALE_NAME = "Trailhead live"
# Item number -> (product, units in the sale).
DEMO_SALE_ITEMS = {"1": ("ethiopia-guji-12oz", 1), "2": ("titanium-pour-over", 2)}
# Who claims what, in platform-time order, and on which network of the sale's posts.
DEMO_CLAIMS = (
    ("jonas.berg@example.net", "x", "sold 1"),
    ("priya.raman@example.org", "bluesky", "sold 1 please!"),
    ("maya.okafor@example.com", "bluesky", "claim 2"),
    ("lucia.fernandez@example.com", "x", "Sold 2"),
    ("sam.whitaker@example.net", "bluesky", "2"),
)
# The winner who pays their invoice in the demo, with a saved test card.
DEMO_SALE_PAYER = "jonas.berg@example.net"
DEMO_SALE_ADDRESS = Address("Jonas Berg", "4 Fjord Lane", "", "Portland", "97205", "US")
DEMO_SALE_PAY_KEY = "demo-sale-invoice-payment"
# Where on the demo's day the sale runs (a fraction of the window, as the stream's posts).
SALE_AT = 0.97
CLAIM_STEP = 0.003  # about four minutes between claims: the ranking is plain to read

Ingest = Callable[[Ingestor, str, list[bytes]], None]


@dataclass(frozen=True)
class DemoSale:
    """What the demo's sale did: its claims' outcomes and the invoice paid."""

    name: str
    networks: tuple[str, ...]
    claims: int
    won: int
    waitlisted: int
    payer: str
    invoice_id: int | None
    order_id: int | None


def run_demo_sale(app: App, host: str, ingest: Ingest, seed: int) -> DemoSale:
    """Go live, take the claims, settle, and have one winner pay (see the module's text)."""
    now = app.clock.now()
    b = Builder(seed + 2000, host, now)
    listing = "; ".join(
        f"#{number} {b.products[product].title} ({units} left)"
        for number, (product, units) in DEMO_SALE_ITEMS.items()
    )
    words = parse(f"We're live! {listing}. Reply sold + the number to claim yours.")
    _tweet, x_live = b.x_post(BRAND, SALE_AT, words)
    b_live = b.b_post(BRAND, SALE_AT, words)
    assert b_live.ref is not None
    posts = [("x", str(x_live.tweet_id)), ("bluesky", b_live.ref.uri)]
    ingest(_ingestor(app), "demo live sale", [e.line for e in b.emits])
    with suppress(SaleExists):  # a rebuilt demo: the sale and its claims are there already
        open_sale(
            app.unit_of_work,
            DEMO_SALE_NAME,
            posts,
            [NewSaleItem(n, product, units) for n, (product, units) in DEMO_SALE_ITEMS.items()],
            24,
            now,
        )
    b.emits.clear()
    for n, (email, network, text) in enumerate(DEMO_CLAIMS, start=1):
        persona = shopper_persona(email)
        frac = SALE_AT + n * CLAIM_STEP
        if network == "x":
            b.x_post(persona, frac, parse(text), reply_to=x.TweetRef(x_live.tweet_id, BRAND))
        else:
            b.b_post(persona, frac, parse(text), reply_to=b_live.ref)
    ingest(_ingestor(app), "demo live sale claims", [e.line for e in b.emits])
    settle_sales(app.unit_of_work, app.shop(), app.clock)
    invoice_id, order_id = _pay(app, now)
    with app.unit_of_work() as uow:
        sale = uow.repository.sales.named(DEMO_SALE_NAME)
        assert sale is not None
        statuses = [
            claim.status
            for item in sale.items
            for claim in uow.repository.sales.claims_of_item(
                item.id, ("held", "paid", "waitlisted")
            )
        ]
    return DemoSale(
        name=DEMO_SALE_NAME,
        networks=tuple(sorted({network for network, _ in posts})),
        claims=len(DEMO_CLAIMS),
        won=sum(status in ("held", "paid") for status in statuses),
        waitlisted=statuses.count("waitlisted"),
        payer=DEMO_SALE_PAYER,
        invoice_id=invoice_id,
        order_id=order_id,
    )


def _ingestor(app: App) -> Ingestor:
    return Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)


@dataclass(frozen=True)
class _Payer:
    id: int
    email: str
    name: str | None


def _pay(app: App, now: datetime) -> tuple[int | None, int | None]:
    """The payer's invoice, paid with a saved test card (as the invoice page pays it)."""
    with app.unit_of_work() as uow:
        records = uow.repository.sales
        customer_id = uow.repository.customer_id(DEMO_SALE_PAYER)
        sale = records.named(DEMO_SALE_NAME)
        won = [
            claim.invoice_id
            for item in (sale.items if sale is not None else ())
            for claim in records.claims_of_item(item.id, ("held", "paid"))
            if claim.customer_id == customer_id and claim.invoice_id is not None
        ]
    if customer_id is None or not won:
        return None, None  # she won nothing (the stream sold the units first)
    invoice_id = won[0]
    card = save_test_card(app.unit_of_work, customer_id, "4242424242424242", now)
    with app.unit_of_work() as uow:
        found = invoice_payment.invoice_basket(uow.repository, invoice_id, customer_id, now)
    if found is None:
        return invoice_id, None
    outcome = invoice_payment.pay_invoice(
        app.unit_of_work,
        app.clock,
        invoice_payment.InvoicePayment(
            customer=_Payer(customer_id, DEMO_SALE_PAYER, DEMO_SALE_ADDRESS.name),
            invoice_id=invoice_id,
            pay_key=DEMO_SALE_PAY_KEY,
            shown=summary_of(found.basket),
            shown_offer=offer_summary(found.basket),
            address=DEMO_SALE_ADDRESS,
            shop_name=app.settings.shop_name,
            public_url=app.settings.public_url,
        ),
        app.payment_gateways().get(TestCardGateway.name),
        {"saved_method": card.method_id},
    )
    if isinstance(outcome, invoice_payment.InvoicePaid):
        return invoice_id, outcome.order_id
    return invoice_id, None


__all__ = ["DEMO_SALE_NAME", "DemoSale", "run_demo_sale"]
