"""The demo's offer by hashtag (issue 12): `hashcart demo` adds the offer `#trailhead10`
(10% off, the first 50 shoppers), a demo shopper posts its tag on Bluesky (a Jetstream
commit, as the built demo stream writes them), and the demo prices her cart at checkout
with the offer applied. The served demo's live stream has linked shoppers post the tag
too (synthetic/live `offer_tags`), and a demo shopper who checks out on the web pays less.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal

from hashcart.bootstrap import App
from hashcart.ports import OfferTagTaken
from hashcart.services import checkout
from hashcart.services.ingest import Ingestor
from hashcart.services.offers import add_offer
from hashcart.synthetic import demo_shoppers
from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._richtext import parse
from hashcart.synthetic.catalog import shopper_persona

DEMO_OFFER_TAG = "trailhead10"
DEMO_OFFER_LIMIT = 50


@dataclass(frozen=True)
class DemoOffer:
    """What the demo shows: who loaded the offer, and her checkout with it applied."""

    tag: str
    shopper: str
    loaded: bool
    subtotal: Decimal
    discount: Decimal
    to_pay: Decimal
    currency: str | None


def add_demo_offer(app: App) -> None:
    """The demo's offer (kept as it is when the database has it already)."""
    with suppress(OfferTagTaken):
        add_offer(
            app.unit_of_work,
            app.settings,
            app.clock.now(),
            tag=DEMO_OFFER_TAG,
            percent="10",
            limit=DEMO_OFFER_LIMIT,
        )


def show_demo_offer(
    app: App, host: str, ingest: Callable[[Ingestor, str, list[bytes]], None], seed: int
) -> DemoOffer:
    """The first demo shopper posts the offer's tag; her cart priced at checkout."""
    add_demo_offer(app)
    shopper = demo_shoppers()[0]
    persona = shopper_persona(shopper.email)
    builder = Builder(seed + 1000, host, app.clock.now())
    words = parse(f"Saving this for my next bag of beans #{DEMO_OFFER_TAG}")
    builder.b_post(persona, 0.999, words, "offer_loaded")
    ingestor = Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)
    ingest(ingestor, "demo offer", [emit.line for emit in builder.emits])
    with app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(shopper.email)
    assert customer_id is not None
    basket = checkout.basket_for(app.unit_of_work, customer_id, app.clock.now())
    return DemoOffer(
        tag=DEMO_OFFER_TAG,
        shopper=shopper.email,
        loaded=basket.offer is not None,
        subtotal=basket.total,
        discount=basket.discount,
        to_pay=basket.to_pay,
        currency=basket.currency,
    )
