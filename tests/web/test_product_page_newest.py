"""A product page's newest posts read by index (issue 14, pages that stay fast on a big shop):
each post_products row carries its post's time (migration 0034 gave the rows there were
theirs), and the page reads the product's newest rows instead of every post naming it, on
SQLite and PostgreSQL, showing what it showed before: the newest posts, each once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select, update

from hashcart.store import schema as t
from hashcart.store.database import make_engine, read_only_transaction, upgrade
from hashcart.views.product_page import SHOWN_POSTS, product_details
from tests.web.conftest import WebShop
from tests.web.test_shopfront import MUG, bluesky_post

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _shown(web_shop: WebShop) -> list[int]:
    with read_only_transaction(web_shop.app.engine) as connection:
        details = product_details(connection, "mug")
    assert details is not None
    return [int(post.text.split("Post number ")[1].split(".")[0]) for post in details.posts]


def test_each_link_a_post_makes_carries_the_posts_time(web_shop_any_db: WebShop) -> None:
    web_shop_any_db.ingest([bluesky_post("3mmbrand00001", "Post number 1.", MUG, minutes=3)])
    with read_only_transaction(web_shop_any_db.app.engine) as connection:
        row = connection.execute(
            select(t.posts.c.created_at, t.post_products.c.created_at.label("linked_at")).join(
                t.post_products,
                (t.post_products.c.network == t.posts.c.network)
                & (t.post_products.c.post_id == t.posts.c.post_id),
            )
        ).one()
    assert row.linked_at == row.created_at


def test_posts_naming_the_product_often_still_fill_the_page_once_each(
    web_shop_any_db: WebShop,
) -> None:
    # Three links each: the first read (twice SHOWN_POSTS rows) holds fewer posts than shown.
    web_shop_any_db.ingest(
        [
            bluesky_post(f"3mmbrand{n:05}", f"Post number {n}.", MUG, MUG, MUG, minutes=n)
            for n in range(SHOWN_POSTS + 4)
        ]
    )
    assert _shown(web_shop_any_db) == list(range(SHOWN_POSTS + 3, 3, -1))


def test_links_written_without_a_time_are_still_shown_newest_first(
    web_shop_any_db: WebShop,
) -> None:
    web_shop_any_db.ingest(
        [
            bluesky_post(f"3mmbrand{n:05}", f"Post number {n}.", MUG, minutes=n)
            for n in range(SHOWN_POSTS + 2)
        ]
    )
    with web_shop_any_db.app.engine.begin() as connection:
        oldest = t.post_products.c.post_id.like("%3mmbrand00000")
        connection.execute(update(t.post_products).where(oldest).values(created_at=None))
        # The second oldest post's link claims a time after every post: only the posts' own
        # times tell.
        newest = t.post_products.c.post_id.like("%3mmbrand00001")
        connection.execute(update(t.post_products).where(newest).values(created_at=FUTURE))
    assert _shown(web_shop_any_db) == list(range(SHOWN_POSTS + 1, 1, -1))


def test_migration_0034_gives_the_links_there_were_their_posts_time(database_url: str) -> None:
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(files("hashcart.store") / "migrations"))
    config.attributes["engine"] = engine
    command.upgrade(config, "0033")
    with engine.begin() as connection:
        connection.execute(
            insert(t.products).values(
                product_id="mug",
                title="Mug",
                link="https://shop.example/mug",
                price_amount=Decimal("12.00"),
                currency="USD",
                availability="in stock",
                updated_at=AT,
            )
        )
        connection.execute(
            insert(t.posts).values(
                network="x",
                post_id="1",
                author_id="9",
                author_handle="shop",
                text="The mug https://shop.example/mug",
                created_at=AT,
                has_shop_link=True,
            )
        )
        # Only the columns 0032 has.
        connection.execute(
            insert(t.post_products).values(network="x", post_id="1", position=1, product_id="mug")
        )

    upgrade(engine)

    with engine.connect() as connection:
        linked_at = connection.scalar(select(t.post_products.c.created_at))
    engine.dispose()
    assert linked_at == AT
