"""Cancelling an order (issue 14, orders and fulfilment) on SQLite and PostgreSQL: the
payment is voided when only authorised and refunded when captured, through the payment port
and the gateway that took it; the sold units go back to stock; the shopper is told once with
the reason `order_cancelled`, on the channel they chose. Cancelling twice, or twice at once,
is one void or refund; a cancel racing a ship ends with exactly one of them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.services.order_care import (
    Cancelled,
    CancelRefused,
    ShipRefused,
    cancel_order,
    mark_shipped,
)
from hashcart.store import schema as t
from tests.cli_runner import run_cli
from tests.harness import Shop
from tests.orders_support import CountingGateway, OrderLine, place
from tests.payloads import mastodon_status

ALICE = "alice@example.com"
ALICE_DID = "did:plc:alice0000000000000000000"
TRACKING = "https://track.carrier-example.com/parcels/1Z999AA10123456784"


def _shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    with shop.app.unit_of_work() as uow:
        uow.repository.set_stock_count("mug", 5)
    return shop


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """On SQLite: what does not depend on the database."""
    return _shop(f"sqlite:///{tmp_path / 'shop.db'}")


@pytest.fixture
def any_shop(database_url: str) -> Shop:
    """On SQLite and PostgreSQL: the races and the compare and set."""
    return _shop(database_url)


def cancel(shop: Shop, number: int, gateway: CountingGateway) -> Cancelled:
    return cancel_order(
        shop.app.unit_of_work, shop.app.shop(), number, shop.clock.now(), gateway.as_gateways()
    )


def state(shop: Shop, number: int) -> tuple[str, str | None, int | None]:
    """The order's status, its payment's status, and the mug's stock count."""
    with shop.app.engine.connect() as connection:
        order = connection.execute(
            select(t.orders.c.status).where(t.orders.c.id == number)
        ).scalar_one()
        payment = connection.execute(
            select(t.payments.c.status).where(t.payments.c.order_id == number)
        ).scalar()
        stock = connection.execute(
            select(t.products.c.stock).where(t.products.c.product_id == "mug")
        ).scalar_one()
    return order, payment, stock


def told(shop: Shop, reason: str = "order_cancelled") -> list[Any]:
    with shop.app.engine.connect() as connection:
        return connection.execute(select(t.outbox).where(t.outbox.c.reason == reason)).all()


def test_a_captured_payment_is_refunded_the_stock_returns_and_the_shopper_is_told(
    shop: Shop,
) -> None:
    number = place(shop, "a", quantity=2)
    assert state(shop, number) == ("paid", "captured", 3)
    gateway = CountingGateway()
    done = cancel(shop, number, gateway)
    assert (done.newly, done.money_back, done.restocked) == (True, True, 2)
    assert gateway.refunds == [("CARD-4242-a", Decimal("36.00"))] and gateway.voids == []
    assert state(shop, number) == ("cancelled", "refunded", 5)
    [message] = told(shop)
    # A web order (no reply behind it) is told by email, with the order page.
    assert message.channel == "email" and message.account_id == ALICE
    assert f"order {number}" in message.text and f"/orders/{number}" in message.text


def test_an_authorised_payment_is_voided_and_its_owed_capture_dropped(shop: Shop) -> None:
    number = place(shop, "a", payment="authorised")
    gateway = CountingGateway()
    done = cancel(shop, number, gateway)
    assert done.money_back and gateway.voids == ["CARD-4242-a"] and gateway.refunds == []
    assert state(shop, number) == ("cancelled", "voided", 5)
    with shop.app.engine.connect() as connection:
        owed = connection.execute(select(t.payments.c.pending_step)).scalar_one()
    assert owed is None  # the payment sweep will not capture it


def test_cancelling_twice_is_one_refund_and_one_message(any_shop: Shop) -> None:
    number = place(any_shop, "a")
    gateway = CountingGateway()
    first, second = cancel(any_shop, number, gateway), cancel(any_shop, number, gateway)
    assert (first.newly, second.newly) == (True, False)
    assert len(gateway.refunds) == 1 and len(told(any_shop)) == 1
    assert state(any_shop, number) == ("cancelled", "refunded", 5)


def _at_once(*steps: Callable[[], Any]) -> list[Any]:
    """Run `steps` in threads released together; each one's result or exception."""
    barrier = threading.Barrier(len(steps))
    results: list[Any] = [None] * len(steps)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = steps[index]()
        except Exception as problem:
            results[index] = problem

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_cancels_at_once_refund_once(any_shop: Shop) -> None:
    number = place(any_shop, "a")
    gateway = CountingGateway()
    results = _at_once(
        lambda: cancel(any_shop, number, gateway), lambda: cancel(any_shop, number, gateway)
    )
    assert sorted(result.newly for result in results) == [False, True]
    assert len(gateway.refunds) == 1 and len(told(any_shop)) == 1
    assert state(any_shop, number) == ("cancelled", "refunded", 5)


def test_a_cancel_racing_a_ship_ends_as_one_of_them(any_shop: Shop) -> None:
    number = place(any_shop, "a")
    gateway = CountingGateway()

    def ship() -> Any:
        return mark_shipped(
            any_shop.app.unit_of_work,
            any_shop.app.shop(),
            number,
            TRACKING,
            any_shop.clock.now(),
            "UPS",
        )

    results = _at_once(lambda: cancel(any_shop, number, gateway), ship)
    cancelled, shipped = results
    order, payment, stock = state(any_shop, number)
    if isinstance(cancelled, Cancelled):
        assert isinstance(shipped, ShipRefused)
        assert (order, payment, stock) == ("cancelled", "refunded", 5)
        assert len(gateway.refunds) == 1 and told(any_shop, "shipped") == []
    else:
        assert isinstance(cancelled, CancelRefused) and shipped.newly
        assert (order, payment, stock) == ("paid", "captured", 4)
        assert gateway.refunds == [] and told(any_shop) == []


def test_a_shipped_order_is_not_cancelled_and_a_cancelled_one_not_shipped(shop: Shop) -> None:
    shipped, cancelled = place(shop, "a"), place(shop, "b")
    mark_shipped(shop.app.unit_of_work, shop.app.shop(), shipped, None, shop.clock.now())
    with pytest.raises(CancelRefused, match="has shipped"):
        cancel(shop, shipped, CountingGateway())
    cancel(shop, cancelled, CountingGateway())
    with pytest.raises(ShipRefused, match="was cancelled"):
        mark_shipped(shop.app.unit_of_work, shop.app.shop(), cancelled, None, shop.clock.now())


def test_a_refused_refund_is_kept_for_the_merchant_and_the_order_stays_cancelled(
    shop: Shop,
) -> None:
    number = place(shop, "a")
    done = cancel(shop, number, CountingGateway(refuse=True))
    assert done.newly and not done.money_back and "maintenance" in done.money
    assert state(shop, number) == ("cancelled", "captured", 5)
    with shop.app.engine.connect() as connection:
        kept = connection.execute(select(t.payments.c.last_error)).scalar_one()
    assert kept == "refund refused: The gateway is down for maintenance."


def test_a_reply_order_is_told_under_the_reply_without_the_money_words(shop: Shop) -> None:
    """Alice's `#cart` reply on Mastodon (an entities/Status.md payload) put the mug in her
    cart: a public reply (her default channel) answers under it with only the order page."""
    alice = "https://social.example/users/alice"
    shop.link(ALICE, Network.MASTODON, alice, "alice")
    mug = "https://shop.example/products/enamel-mug"
    shop.ingest(
        [
            mastodon_status(
                "800",
                "https://coffee.social/users/trailhead",
                "trailhead",
                f'<p><a href="{mug}">{mug}</a></p>',
            ),
            mastodon_status("801", alice, "alice", "<p>#cart</p>", reply_to="800", tags=("cart",)),
        ]
    )
    line = OrderLine(
        "mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", 1, "mastodon", "800", "801"
    )
    number = place(shop, "a", lines=(line,))
    cancel(shop, number, CountingGateway())
    [message] = told(shop)
    assert (message.network, message.channel, message.in_reply_to) == ("mastodon", "reply", "801")
    assert f"order {number}" in message.text and f"/orders/{number}" in message.text
    assert "goes back" not in message.text


def test_the_ship_command_names_the_carrier_and_refuses_a_cancelled_order(
    shop: Shop, tmp_path: Path
) -> None:
    env = {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}"}
    shipped, cancelled = place(shop, "a"), place(shop, "b")
    cancel(shop, cancelled, CountingGateway())
    bad = run_cli(["orders", "ship", str(shipped), "--carrier", "UPS\u202e"], env=env)
    assert bad.exit_code == 2 and "control character" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    refused = run_cli(["orders", "ship", str(cancelled)], env=env)
    assert refused.exit_code == 2 and "was cancelled" in refused.stderr
    done = run_cli(["orders", "ship", str(shipped), "--carrier", "Royal Mail"], env=env)
    assert done.exit_code == 0 and "marked shipped" in done.stdout
    listed = run_cli(["orders", "--json"], env=env)
    assert '"carrier":"Royal Mail"' in listed.stdout and '"status":"cancelled"' in listed.stdout
