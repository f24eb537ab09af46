"""Issue 14: the demo's posts said one thing and showed another ("the mug + the dripper"
showed an espresso and a Geisha; "Restocked! Insulated Trail Flask" showed it out of stock).
Every shoppable post the demo makes, in its script and in a long run of its live stream, now
says what it shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hashcart.bootstrap import open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import run_demo
from hashcart.live_demo import LiveFeeder
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t

LIVE_BEATS = 1500  # about sixty brand posts at the live stream's one in 25 events
IN_STOCK_WORDS = ("Restocked", "back on the shelf", "New drop", "Reply #cart", "reply #cart")


def shown(tmp_path: Path) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each shoppable post of the shop: its text and its products' (title, availability)."""
    clock = FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)

    def ingest(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
        ingestor.ingest_lines(name, lines)

    run_demo(app, ingest)
    feeder = LiveFeeder(app)
    for _ in range(LIVE_BEATS):
        clock.advance(timedelta(seconds=0.75))
        feeder.step()
    posts: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(t.posts.c.post_id, t.posts.c.text, t.products.c.title, t.products.c.availability)
            .join(
                t.post_products,
                (t.post_products.c.network == t.posts.c.network)
                & (t.post_products.c.post_id == t.posts.c.post_id),
            )
            .join(t.products, t.products.c.product_id == t.post_products.c.product_id)
            .where(t.posts.c.has_shop_link.is_(True), t.posts.c.parent_id.is_(None))
            .order_by(t.posts.c.post_id, t.post_products.c.position)
        )
        for row in rows:
            posts.setdefault(row.post_id, (row.text or "", []))[1].append(
                (row.title, row.availability)
            )
    app.engine.dispose()
    return posts


def test_every_demo_post_says_what_it_shows(tmp_path: Path) -> None:
    posts = shown(tmp_path)
    assert len(posts) > 40, len(posts)
    availabilities = {a for _, products in posts.values() for _, a in products}
    assert {"in_stock", "out_of_stock", "preorder"} <= availabilities  # all kinds were posted
    for text, products in posts.values():
        titles = " | ".join(title for title, _ in products)
        if "the mug" in text and "the dripper" in text:
            assert "Mug" in products[0][0] and "Dripper" in products[1][0], (text, titles)
        if any(a == "out_of_stock" for _, a in products):
            assert not any(word in text for word in IN_STOCK_WORDS), (text, titles)
            assert "#wishlist" in text, (text, titles)
        if any(a == "preorder" for _, a in products):
            assert "re-order" in text or "pre-order" in text, (text, titles)
