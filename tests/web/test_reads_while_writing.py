"""Page views while an ingest batch holds SQLite's write lock: pages read the last commit beside
the batch instead of queueing for the lock, and forms that write still wait their turn.

The database here gives up on a lock after 0.2 s (`?timeout=` in its URL), so a page that
took the write lock fails at once with "database is locked" instead of hanging for a minute."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction
from hashcart.store.repository import transaction
from hashcart.store.shopping import add_to_cart
from tests.web.cart_support import SHOPPER_DID, bluesky_reply_cart, signed_in
from tests.web.conftest import PASSWORD, WebShop

EMAIL = "sam@example.com"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[WebShop]:
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}?timeout=0.2")
    yield shop
    shop.close()


@contextmanager
def batch_holding_the_write_lock(shop: WebShop) -> Iterator[Connection]:
    """What an ingest batch does for its whole transaction: hold the write lock."""
    with transaction(shop.app.engine) as repo:
        repo.serialize_writers()
        yield repo.connection


def customer_id(shop: WebShop, email: str = EMAIL) -> int:
    with read_only_transaction(shop.app.engine) as connection:
        found = connection.execute(select(t.customers.c.id).where(t.customers.c.email == email))
        return int(found.scalar_one())


def test_the_cart_page_shows_the_last_commit_while_a_batch_holds_the_write_lock(
    shop: WebShop,
) -> None:
    browser = signed_in(shop, EMAIL)
    shop.link(EMAIL, Network.BLUESKY, SHOPPER_DID, "sam.bsky.social")
    bluesky_reply_cart(shop)  # the mug, by a #cart reply
    sam = customer_id(shop)
    with batch_holding_the_write_lock(shop) as batch:
        add_to_cart(batch, sam, "beans", "", 10, shop.clock.now())  # not committed yet
        page = browser.get("/cart")
        assert page.status_code == 200
        assert "Trailhead Enamel Mug" in page.text
        assert "Summit Roast Beans" not in page.text
    assert "Summit Roast Beans" in browser.get("/cart").text  # committed: now it shows


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/account", 200),
        ("/account/export", 200),
        ("/wishlist", 200),
        ("/checkout", 200),
        ("/orders", 200),
        ("/orders/1", 404),
        ("/sign-in", 200),
        ("/reset/no-such-token", 404),
        ("/s/demo", 200),
        ("/s/demo/count", 200),
        ("/api/carts", 200),
        ("/api/orders", 200),
    ],
)
def test_shopper_pages_show_while_a_batch_holds_the_write_lock(
    shop: WebShop, path: str, status: int
) -> None:
    browser = signed_in(shop, EMAIL)
    with batch_holding_the_write_lock(shop):
        assert browser.get(path).status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/merchant/catalog",
        "/merchant/catalog/mug",
        "/merchant/customers",
        "/merchant/outbox",
        "/merchant/dead-letters",
        "/merchant",
        "/merchant/posts",
        "/merchant/posts.csv",
        "/merchant/live",
        "/merchant/live.svg",
        "/merchant/live.json",
        "/merchant/settings",
    ],
)
def test_console_pages_show_while_a_batch_holds_the_write_lock(shop: WebShop, path: str) -> None:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    with batch_holding_the_write_lock(shop):
        assert browser.get(path).status_code == 200


def test_a_form_that_writes_still_waits_for_the_batch(shop: WebShop) -> None:
    """The lock above is real: a change waits for it (here: gives up after 0.2 s), and goes
    through once the batch has committed."""
    browser = signed_in(shop, EMAIL)
    with (
        batch_holding_the_write_lock(shop),
        pytest.raises(OperationalError, match="database is locked"),
    ):
        browser.submit("/account/notify", {"notify_by": "email_only"})
    saved = browser.submit("/account/notify", {"notify_by": "email_only"})
    assert saved.status_code == 303


def test_a_page_may_ask_who_is_looking_inside_its_own_unit_of_work(shop: WebShop) -> None:
    """An expired reset link, sent from a browser with a merchant session too: the error page
    is rendered inside the route's unit of work and looks the merchant up. That lookup is a
    read, so it does not wait for the lock its own request holds."""
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    response = browser.submit("/reset/no-such-token", {"password": PASSWORD})
    assert response.status_code == 404
    assert "This link has expired" in response.text
