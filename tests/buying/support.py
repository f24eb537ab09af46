"""A shop that sells with posts: priced products, Alice linked on all three networks with a
saved test card (`hashcart payment-methods add`'s gateway), and the real payload shapes of
X, Mastodon and Bluesky (tests/integration/social)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from hashcart.ports import Address, BuyRequest
from hashcart.services.catalog import FeedRow
from hashcart.services.payments import save_test_card
from hashcart.store import schema as t
from hashcart.store.buys import StoredBuys
from hashcart.store.repository import transaction
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS, Shopper

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
ALICE = "alice@example.com"
BOB = "bob@example.com"
NETWORKS = sorted(SHOPPERS)
VISA = "4242424242424242"
SHIP_TO = Address("Alice Rivera", "5 Quay Street", "Flat 2", "Galway", "H91 X2Y3", "IE")


class BuyShop(Shop):
    """The engine-test shop, its mug priced 24.00 EUR and its beans 18.50 EUR."""

    def __init__(self, database_url: str, **settings: Any) -> None:
        super().__init__(database_url, **settings)
        now = self.clock.now()
        with transaction(self.app.engine) as repo:
            repo.upsert_products(
                [
                    FeedRow(
                        "mug", "Trailhead Enamel Mug", MUG, Decimal("24.00"), "EUR", "in_stock"
                    ).as_values(now),
                    FeedRow(
                        "beans",
                        "Summit Roast Beans 1kg",
                        BEANS,
                        Decimal("18.50"),
                        "EUR",
                        "in_stock",
                    ).as_values(now),
                ]
            )

    def shopper_with_card(self, email: str, *shoppers: Shopper, card: str = VISA) -> int:
        self.customer(email, *[(s.network, s.account_id, s.handle) for s in shoppers])
        customer_id = self.customer_id(email)
        save_test_card(self.app.unit_of_work, customer_id, card, self.clock.now())
        self.save_address(customer_id)
        return customer_id

    def save_address(self, customer_id: int) -> None:
        """The shipping address saved on the account page (a buy ships there)."""
        with self.app.unit_of_work() as uow:
            uow.buys.save_address(customer_id, SHIP_TO, self.clock.now())

    def save_card(self, email: str, method_id: str, last4: str) -> None:
        """A saved card as a gateway would keep it (only its id and last four digits)."""
        from hashcart.ports import SavedPaymentMethod

        customer_id = self.customer_id(email)
        with self.app.unit_of_work() as uow:
            uow.gateway_records.save_method(
                SavedPaymentMethod(
                    customer_id, "test_card", method_id, "Visa", last4, self.clock.now()
                )
            )
        self.save_address(customer_id)

    def reprice(self, product_id: str, price: Decimal) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(
                t.products.update()
                .where(t.products.c.product_id == product_id)
                .values(price_amount=price)
            )

    def customer_id(self, email: str) -> int:
        with transaction(self.app.engine) as repo:
            found = repo.customer_id(email)
        assert found is not None
        return found

    def stock(self, product_id: str, count: int | None) -> None:
        with transaction(self.app.engine) as repo:
            repo.set_stock_count(product_id, count)

    def free(self, product_id: str) -> int | None:
        with self.app.unit_of_work() as uow:
            level = uow.stock.level(product_id)
        assert level is not None
        return level.free

    def requests(self) -> list[BuyRequest]:
        with self.app.engine.connect() as connection:
            ids = connection.scalars(
                select(t.buy_requests.c.id).order_by(t.buy_requests.c.id)
            ).all()
            buys = StoredBuys(connection)
            return [found for i in ids if (found := buys.find(i)) is not None]

    def orders(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            rows = connection.execute(select(t.orders).order_by(t.orders.c.id)).mappings().all()
            return [dict(row) for row in rows]

    def order_lines(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            rows = (
                connection.execute(select(t.order_lines).order_by(t.order_lines.c.id))
                .mappings()
                .all()
            )
            return [dict(row) for row in rows]

    def payments(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            rows = connection.execute(select(t.payments).order_by(t.payments.c.id)).mappings().all()
            return [dict(row) for row in rows]

    def emails(self) -> list[dict[str, Any]]:
        return [m for m in self.outbox() if m.get("network") in (None, "email")]

    def later(self, minutes: float) -> None:
        self.clock.advance(timedelta(minutes=minutes))


def code_in(text: str) -> str:
    """The code a `buy_confirm_needed` answer gives: the word after `#confirm`."""
    words = text.split()
    return words[words.index("#confirm") + 1].rstrip(".")


def own_post(shopper: Shopper, key: str, text: str, minutes: float = 6) -> bytes:
    """`shopper`'s post `key` on its own (no parent), as its network writes it: how a
    `#confirm K7QX` arrives. X puts the shop's handle first, Mastodon sends HTML with the tag
    as a link, Bluesky plain text (tests/integration/social for the shapes' sources)."""
    import html

    from hashcart.domain.posts import Network
    from tests.payloads import jetstream_post, mastodon_status, x_tweet

    tags = tuple(word[1:] for word in text.split() if word.startswith("#"))
    if shopper.network is Network.BLUESKY:
        return jetstream_post(shopper.account_id, key, text, minutes=minutes)
    if shopper.network is Network.X:
        return x_tweet(
            key,
            shopper.account_id,
            shopper.handle,
            f"@trailhead {text}",
            hashtags=tags,
            minutes=minutes,
        )
    words = []
    for word in text.split():
        if word.startswith("#"):
            words.append(
                f'<a href="https://social.example/tags/{word[1:]}" class="mention hashtag" '
                f'rel="tag">#<span>{html.escape(word[1:])}</span></a>'
            )
        else:
            words.append(html.escape(word))
    return mastodon_status(
        key,
        shopper.account_id,
        shopper.handle,
        f"<p>{' '.join(words)}</p>",
        tags=tags,
        minutes=minutes,
    )


def parent_id(shopper: Shopper, key: str) -> str:
    """The id the network gives the shop's product post `key` (Shopper.parent)."""
    from hashcart.domain.posts import Network
    from tests.payloads import SHOP_DID, post_uri

    return post_uri(SHOP_DID, key) if shopper.network is Network.BLUESKY else key
