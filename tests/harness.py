"""A shop on a real database for engine tests: catalog, customers, links, ingest, and reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.services.catalog import FeedRow
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.linking import LinkResult, link_account
from hashcart.store.repository import transaction
from hashcart.views import queries
from tests.payloads import BASE_TIME

HOST = "shop.example"
PRODUCTS = {
    "mug": ("Trailhead Enamel Mug", f"https://{HOST}/products/enamel-mug", "in_stock"),
    "beans": ("Summit Roast Beans 1kg", f"https://{HOST}/products/summit-roast", "in_stock"),
    "kettle": ("Gooseneck Kettle", f"https://{HOST}/products/gooseneck-kettle", "out_of_stock"),
    "grinder": ("Hand Grinder", f"https://{HOST}/products/hand-grinder", "discontinued"),
}


class Shop:
    def __init__(self, database_url: str, **settings: Any) -> None:
        self.clock = FixedClock(BASE_TIME + timedelta(hours=1))
        self.app: App = open_app(Settings(database_url=database_url, **settings), self.clock)
        with transaction(self.app.engine) as repo:
            repo.upsert_products(
                FeedRow(pid, title, link, None, None, availability).as_values(self.clock.now())
                for pid, (title, link, availability) in PRODUCTS.items()
            )

    def customer(self, email: str, *links: tuple[Network, str, str]) -> None:
        with transaction(self.app.engine) as repo:
            repo.add_customer(email, None, self.clock.now())
        for network, account_id, handle in links:
            self.link(email, network, account_id, handle)

    def link(self, email: str, network: Network, account_id: str, handle: str) -> LinkResult:
        shop = self.app.shop()
        with transaction(self.app.engine) as repo:
            return link_account(repo, shop, email, network, account_id, handle, self.clock.now())

    def ingest(
        self,
        lines: Iterable[bytes],
        source: str = "test.jsonl",
        batch_size: int = 1000,
        validate_all: bool = False,
    ) -> IngestStats:
        ingestor = Ingestor(
            self.app.unit_of_work,
            self.app.shop(),
            self.clock,
            reader=self.app.payload_reader,
            batch_size=batch_size,
            validate_all=validate_all,
            settle_buys=self.app.settle_buys,
        )
        ingestor.ingest_lines(source, lines)
        return ingestor.stats

    def carts(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            return queries.carts(connection)

    def cart(self, email: str) -> list[tuple[str, int]]:
        with self.app.engine.connect() as connection:
            found = queries.carts(connection, email)
        return (
            [(line["product_id"], line["quantity"]) for line in found[0]["lines"]] if found else []
        )

    def wishlist(self, email: str) -> list[str]:
        with self.app.engine.connect() as connection:
            found = queries.wishlists(connection, email)
        return [line["product_id"] for line in found[0]["lines"]] if found else []

    def outbox(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            return queries.outbox(connection)

    def reasons(self) -> list[str]:
        return [message["reason"] for message in self.outbox()]

    def pending(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            return queries.pending(connection)

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            return queries.dead_letters(connection)

    def post_text(self, network: Network, post_id: str) -> str | None:
        from sqlalchemy import select

        from hashcart.store.schema import posts

        with self.app.engine.connect() as connection:
            row = connection.execute(
                select(posts.c.text).where(posts.c.network == network, posts.c.post_id == post_id)
            ).first()
        assert row is not None, f"post {post_id} not stored"
        return row[0]
