"""The demo's buy with a post (issue 12): the brand's Bluesky post of a product, a demo
shopper's `#buy` under it, and then the `#confirm CODE` post with the code the shop sent
(the code is made by the shop, so the confirm is written once it is known)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from hashcart.synthetic import bluesky
from hashcart.synthetic._people import Persona
from hashcart.synthetic._richtext import parse
from hashcart.synthetic.catalog import BRAND, demo_catalog, shopper_persona

BUYER_EMAIL = "maya.okafor@example.com"
PRODUCT_ID = "enamel-mug-pine"


@dataclass(frozen=True)
class BuyScene:
    buyer_email: str
    product_id: str
    brand_post: bytes
    buy: bytes
    buy_uri: str
    persona: Persona
    at: datetime
    seed: int

    def confirm(self, code: str) -> bytes:
        """The buyer's `#confirm CODE` post, three minutes after the `#buy`."""
        return bluesky.post(
            author=self.persona,
            created=self.at + timedelta(minutes=3),
            segs=parse(f"#confirm {code}"),
            rng=random.Random(self.seed + 2),
        ).line


def buy_scene(host: str, now: datetime, seed: int = 7) -> BuyScene:
    product = next(p for p in demo_catalog(host) if p.product_id == PRODUCT_ID)
    rng = random.Random(seed)
    brand = bluesky.post(
        author=BRAND,
        created=now - timedelta(minutes=9),
        segs=parse(f"Back in stock: {product.title} {product.link}"),
        rng=rng,
    )
    assert brand.ref is not None
    buyer = shopper_persona(BUYER_EMAIL)
    at = now - timedelta(minutes=6)
    buy = bluesky.post(
        author=buyer, created=at, segs=parse("#buy"), rng=rng, reply_parent=brand.ref
    )
    assert buy.ref is not None
    return BuyScene(BUYER_EMAIL, PRODUCT_ID, brand.line, buy.line, buy.ref.uri, buyer, at, seed)
