"""A reminder (issue 14): one message when a cart line has waited `cart_reminder_hours`
without an order, to a shopper who asked for it, when the shop has it on; never more than
one per cart (a unique key), never anything but email to a shopper who chose email only.
The clock is moved, never waited for."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hashcart.domain.posts import Network
from hashcart.store import cart_reminders
from hashcart.store import schema as t
from hashcart.store.shop_config import save_switch
from tests.cli_runner import run_cli
from tests.harness import HOST, Shop
from tests.payloads import x_tweet

BEANS = f"https://{HOST}/products/summit-roast"
SHOPPER = "4004"
EMAIL = "sam@example.com"


def shop_with_a_cart(url: str, *, asked: bool = True, notify_by: str = "public_reply") -> Shop:
    """The shop (reminders on), Sam linked on X, asking for reminders or not, and one #cart
    reply of Sam's carted now."""
    shop = Shop(url, cart_reminders=True)
    shop.customer(EMAIL, (Network.X, SHOPPER, "sam_x"))
    with shop.app.engine.begin() as connection:
        connection.execute(update(t.customers).values(notify_by=notify_by, cart_reminders=asked))
    shop.ingest(
        [
            x_tweet("1001", "900", "trailhead", f"Fresh roast {BEANS}", links=(BEANS,)),
            x_tweet("1002", SHOPPER, "sam_x", "#cart", reply_to="1001", hashtags=("cart",)),
        ]
    )
    assert shop.cart(EMAIL) == [("beans", 1)]
    return shop


def reminders(shop: Shop) -> list[dict[str, Any]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox).where(t.outbox.c.reason == "cart_reminder").order_by(t.outbox.c.id)
        )
        return [dict(row._mapping) for row in rows]


def test_one_reminder_once_the_line_has_waited_and_never_a_second(database_url: str) -> None:
    shop = shop_with_a_cart(database_url)
    shop.clock.advance(timedelta(hours=47, minutes=59))
    assert shop.app.send_reminders() == 0
    shop.clock.advance(timedelta(minutes=1))
    assert shop.app.send_reminders() == 1
    (reminder,) = reminders(shop)
    assert reminder["network"] == "x" and reminder["in_reply_to"] == "1002"
    assert reminder["channel"] == "reply"
    assert reminder["text"].startswith(
        "@sam_x Summit Roast Beans 1kg is still waiting in your cart at "
    )
    assert "/cart (ref " in reminder["text"]
    shop.clock.advance(timedelta(days=30))
    assert shop.app.send_reminders() == 0  # the same cart: never again
    assert len(reminders(shop)) == 1
    shop.app.engine.dispose()


def test_the_unique_key_takes_one_reminder_per_cart(database_url: str) -> None:
    shop = shop_with_a_cart(database_url)
    now = shop.clock.now()
    with shop.app.engine.begin() as connection:
        (customer_id,) = connection.execute(
            t.customers.select().with_only_columns(t.customers.c.id)
        ).one()
        assert cart_reminders.claim(connection, customer_id, 0, now)
        assert not cart_reminders.claim(connection, customer_id, 0, now)
        # After an order, the lines that follow are another cart.
        assert cart_reminders.claim(connection, customer_id, 7, now)
    shop.app.engine.dispose()


def test_nobody_is_reminded_who_did_not_ask_nor_when_the_shop_has_it_off(tmp_path: Path) -> None:
    shop = shop_with_a_cart(f"sqlite:///{tmp_path / 'a.db'}", asked=False)
    shop.clock.advance(timedelta(hours=49))
    assert shop.app.send_reminders() == 0

    other = shop_with_a_cart(f"sqlite:///{tmp_path / 'b.db'}")
    with other.app.engine.begin() as connection:
        save_switch(connection, other.app.settings, "cart_reminders", False)  # the console
    other.clock.advance(timedelta(hours=49))
    assert other.app.send_reminders() == 0
    assert reminders(shop) == reminders(other) == []


def test_a_shopper_who_chose_email_only_is_reminded_by_email(tmp_path: Path) -> None:
    shop = shop_with_a_cart(f"sqlite:///{tmp_path / 'shop.db'}", notify_by="email_only")
    shop.clock.advance(timedelta(hours=48))
    assert shop.app.send_reminders() == 1
    (reminder,) = reminders(shop)
    assert reminder["channel"] == "email" and reminder["account_id"] == EMAIL
    assert reminder["text"].startswith("Summit Roast Beans 1kg is still waiting in your cart")


def test_a_private_message_for_who_chose_it(tmp_path: Path) -> None:
    shop = shop_with_a_cart(f"sqlite:///{tmp_path / 'shop.db'}", notify_by="private_message")
    shop.clock.advance(timedelta(hours=48))
    assert shop.app.send_reminders() == 1
    (reminder,) = reminders(shop)
    assert reminder["channel"] == "private" and reminder["account_id"] == SHOPPER


def test_a_shopper_no_longer_linked_there_is_reminded_by_email(tmp_path: Path) -> None:
    shop = shop_with_a_cart(f"sqlite:///{tmp_path / 'shop.db'}")
    with shop.app.engine.begin() as connection:
        connection.execute(t.account_links.delete())
    shop.clock.advance(timedelta(hours=48))
    assert shop.app.send_reminders() == 1
    (reminder,) = reminders(shop)
    assert reminder["channel"] == "email"


def test_the_hours_are_a_setting(tmp_path: Path) -> None:
    shop = shop_with_a_cart(f"sqlite:///{tmp_path / 'shop.db'}")
    shop.app.settings = shop.app.settings.model_copy(update={"cart_reminder_hours": 2.0})
    shop.clock.advance(timedelta(hours=2))
    assert shop.app.send_reminders() == 1


def test_the_command_sends_what_is_due_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    shop_with_a_cart(url).app.engine.dispose()  # carted in November 2026: long due now
    env = {"HASHCART_DATABASE_URL": url, "HASHCART_CART_REMINDERS": "true"}
    first = run_cli(["reminders", "send", "--json"], env=env)
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {"queued": 1, "enabled": True}
    again = run_cli(["reminders", "send"], env=env)
    assert again.exit_code == 0 and again.stdout.strip() == "0 cart reminders queued"
    off = run_cli(["reminders", "send"], env={"HASHCART_DATABASE_URL": url})
    assert off.exit_code == 0 and off.stdout.startswith("cart reminders are off for this shop")


@pytest.mark.parametrize("hours", ["0", "-1", "many"])
def test_an_unusable_hours_setting_is_refused_at_start(tmp_path: Path, hours: str) -> None:
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "HASHCART_CART_REMINDER_HOURS": hours,
    }
    result = run_cli(["reminders", "send"], env=env)
    assert result.exit_code == 2
    assert "cart_reminder_hours" in result.stderr
