"""Live sales (issue 13) through the real payload shapes of X, Mastodon and Bluesky, on SQLite
and PostgreSQL: claims ranked by the platform's time and settled after the settle window,
late claims, the waitlist and its promotions, pass, limits, variants, unknown items, unlinked
shoppers, expiry, redelivery and a closed sale.

Ranking runs through all three networks' shapes; each other rule through one of them, the
networks taking turns (the claim grammar is the same function for all three: its property
tests are in tests/unit/test_sale_rules.py), to keep the suite's time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hashcart.services.sales import settle_winners_first
from hashcart.store import schema as t
from tests.sales.support import (
    NETWORKS,
    SETTLE,
    SaleShop,
    claim,
    key,
    link_everyone,
    moment,
    post_id,
)


@pytest.fixture
def shop(database_url: str) -> SaleShop:
    """Rules the database takes part in (ordering, unique keys, row locks): both databases."""
    return SaleShop(database_url, public_url="https://shop.example")


# Rules decided in Python over what the store read run on the embedded default alone (the
# race tests hold PostgreSQL to the same settle step), to keep the suite's time.
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@on_sqlite  # on PostgreSQL: tests/sales/test_sale_races.py, settlers racing
@pytest.mark.parametrize("network", NETWORKS)
def test_first_claims_by_platform_time_win_whatever_the_arrival(
    shop: SaleShop, network: str
) -> None:
    link_everyone(shop, network, 4)
    shop.open(network, {"12": ("mug", 2)})
    shop.at(moment(10))
    # Arrival order 3, 1, 2, 0; platform times 0 < 1 < 2 < 3 seconds... by shopper number.
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=8 + n) for n in (3, 1)])
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=8 + n) for n in (2, 0)])
    assert set(shop.statuses().values()) == {"provisional"}  # inside the window: nobody told
    assert shop.reasons() == []
    shop.at(moment(11) + SETTLE)
    shop.settle()
    assert shop.winners() == {post_id(network, 0, 0), post_id(network, 1, 1)}
    assert sorted(shop.reasons()) == sorted(["claim_won"] * 2 + ["claim_waitlisted"] * 2)
    won = shop.messages("claim_won")
    assert all("#12 Trailhead Enamel Mug, 24.00 EUR" in text for text in won)
    assert all("https://shop.example/orders/invoice/" in text for text in won)
    assert len(shop.invoices()) == 2


@pytest.mark.parametrize("network", ["x"])
def test_a_late_claim_inside_the_window_takes_its_place(shop: SaleShop, network: str) -> None:
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(5))
    shop.ingest([claim(network, 1, key(network, 1), "sold 12", seconds=4)])
    shop.at(moment(6))
    # Made earlier, delivered later, while the first is still provisional.
    shop.ingest([claim(network, 0, key(network, 0), "claim 12", seconds=3.5)])
    shop.at(moment(4) + SETTLE)
    shop.settle()
    assert shop.winners() == {post_id(network, 0, 0)}


@pytest.mark.parametrize("network", ["mastodon"])
def test_a_claim_arriving_after_its_slot_settled_is_waitlisted_and_told(
    shop: SaleShop, network: str
) -> None:
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(4) + SETTLE)
    shop.ingest([claim(network, 1, key(network, 1), "sold 12", seconds=4)])
    assert shop.winners() == {post_id(network, 1, 1)}
    shop.ingest([claim(network, 0, key(network, 0), "sold 12", seconds=2)])
    assert shop.winners() == {post_id(network, 1, 1)}
    assert "number 1 on its waitlist" in shop.messages("claim_waitlisted")[0]


@pytest.mark.parametrize("network", ["bluesky"])
def test_redelivered_claims_change_nothing(shop: SaleShop, network: str) -> None:
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)})
    lines = [claim(network, n, key(network, n), "sold 12", seconds=n) for n in (0, 1)]
    shop.ingest(lines + lines)
    shop.ingest(lines)
    shop.settle()
    assert len(shop.claims()) == 2
    assert shop.winners() == {post_id(network, 0, 0)}
    assert sorted(shop.reasons()) == ["claim_waitlisted", "claim_won"]


@pytest.mark.parametrize("network", ["x"])
def test_pass_releases_and_the_waitlist_moves_in_platform_time_order(
    shop: SaleShop, network: str
) -> None:
    link_everyone(shop, network, 4)
    shop.open(network, {"12": ("mug", 1)})
    # Shopper 3 claims earlier than shopper 2, but arrives later: the waitlist is by time.
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=n) for n in (0, 1)])
    shop.ingest([claim(network, 3, key(network, 3), "sold 12", seconds=0.5)])
    shop.ingest([claim(network, 0, key(network, 9), "pass 12", seconds=30)])
    statuses = shop.statuses()
    assert statuses[post_id(network, 0, 0)] == "released"
    assert statuses[post_id(network, 3, 3)] == "held"
    assert statuses[post_id(network, 1, 1)] == "waitlisted"
    assert len(shop.messages("claim_released")) == 1
    assert "came free" in shop.messages("claim_promoted")[0]


@pytest.mark.parametrize("network", ["mastodon"])
def test_an_unpaid_hold_expires_and_the_next_is_promoted(shop: SaleShop, network: str) -> None:
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)}, hold_hours=2)
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=n) for n in (0, 1)])
    shop.clock.advance(timedelta(hours=1, minutes=31))
    shop.settle()
    assert len(shop.messages("invoice_due")) == 1
    shop.clock.advance(timedelta(minutes=30))
    shop.settle()
    assert shop.winners() == {post_id(network, 1, 1)}
    assert "not paid in time" in shop.messages("claim_released")[0]
    assert shop.reasons().count("claim_promoted") == 1


@on_sqlite
@pytest.mark.parametrize("network", ["bluesky"])
def test_the_per_shopper_limit(shop: SaleShop, network: str) -> None:
    link_everyone(shop, network, 1)
    shop.open(network, {"12": ("mug", 5)}, limit=2)
    shop.ingest(
        [
            claim(network, 0, key(network, 0), "sold 12 x2", seconds=0),
            claim(network, 0, key(network, 1), "sold 12", seconds=1),
        ]
    )
    assert shop.winners() == {post_id(network, 0, 0)}
    assert "(2)" in shop.messages("claim_limit")[0]


@on_sqlite
@pytest.mark.parametrize("network", ["x"])
def test_variant_words_pick_the_variant_and_an_unknown_one_says_what_exists(
    shop: SaleShop, network: str
) -> None:
    link_everyone(shop, network, 3)
    shop.open(network, {"12": ("mug", 3), "14": ("tee-red-m", 3)})
    shop.ingest(
        [
            claim(network, 0, key(network, 0), "14 red M", seconds=0),
            claim(network, 1, key(network, 1), "sold 14 green XL", seconds=1),
            claim(network, 2, key(network, 2), "sold 99", seconds=2),
        ]
    )
    by_post = {c["post_id"]: c for c in shop.claims()}
    assert by_post[post_id(network, 0, 0)]["product_id"] == "tee-red-m"
    assert "Trail Tee - Red / M, 30.00 EUR" in shop.messages("claim_won")[0]
    unknown = shop.messages("claim_unknown_item")
    assert len(unknown) == 2
    assert any("colours Blue, Red" in text and "sizes M, L" in text for text in unknown)
    assert any("#12 Trailhead Enamel Mug" in text and "#14 Trail Tee" in text for text in unknown)


@on_sqlite
@pytest.mark.parametrize("network", ["mastodon"])
def test_an_unlinked_winner_is_held_for_linking_then_released(shop: SaleShop, network: str) -> None:
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)})
    stranger = 7  # nobody linked this account
    shop.ingest(
        [
            claim(network, stranger, key(network, 0), "sold 12", seconds=0),
            claim(network, 1, key(network, 1), "sold 12", seconds=1),
        ]
    )
    assert shop.winners() == {post_id(network, stranger, 0)}  # first come is first come
    assert "within 30 minutes" in shop.messages("link_needed")[0]
    shop.clock.advance(timedelta(minutes=31))
    shop.settle()
    shop.settle()
    assert shop.winners() == {post_id(network, 1, 1)}
    assert shop.reasons().count("link_needed") == 1
    assert "not linked in time" in shop.messages("claim_released")[0]


@on_sqlite
@pytest.mark.parametrize("network", ["bluesky"])
def test_an_unlinked_winner_who_links_in_time_keeps_the_item(shop: SaleShop, network: str) -> None:
    from tests.sales.support import shopper

    shop.open(network, {"12": ("mug", 1)})
    shop.ingest([claim(network, 5, key(network, 0), "sold 12", seconds=0)])
    shop.clock.advance(timedelta(minutes=10))
    who = shopper(network, 5)
    shop.customer("late@example.com", (who.network, who.account_id, who.handle))
    shop.settle()
    claims = shop.claims()
    assert claims[0]["status"] == "held" and claims[0]["invoice_id"] is not None
    assert claims[0]["hold_until"] == shop.clock.now() + timedelta(hours=24)
    assert len(shop.messages("claim_won")) == 1


@on_sqlite
@pytest.mark.parametrize("network", ["x"])
def test_a_claim_after_the_sale_closed_is_told_so(shop: SaleShop, network: str) -> None:
    from hashcart.services.sales import close_sale

    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 5)})
    shop.at(moment(60))
    close_sale(shop.app.unit_of_work, "Friday live", shop.clock.now())
    shop.ingest(
        [
            claim(network, 0, key(network, 0), "sold 12", seconds=30),
            claim(network, 1, key(network, 1), "sold 12", seconds=90),
        ]
    )
    shop.at(moment(90) + SETTLE)
    shop.settle()
    assert shop.winners() == {post_id(network, 0, 0)}
    assert "has closed" in shop.messages("sale_closed")[0]


@on_sqlite
def test_product_stock_holds_are_taken_for_winners(shop: SaleShop) -> None:
    network = "bluesky"
    link_everyone(shop, network, 3)
    with shop.app.unit_of_work() as uow:
        uow.repository.set_stock_count("mug", 2)
    shop.open(network, {"12": ("mug", None)})  # the sale's stock: the product's free units
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=n) for n in range(3)])
    assert len(shop.winners()) == 2
    with shop.app.unit_of_work() as uow:
        level = uow.stock.level("mug")
    assert level is not None and level.free == 0


@on_sqlite
def test_serves_settle_timer_settles_due_claims_with_no_new_reply(shop: SaleShop) -> None:
    from hashcart.services.sales import SettleTimer
    from tests.polling import wait_until

    network = "mastodon"
    link_everyone(shop, network, 1)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(0))
    shop.ingest([claim(network, 0, key(network, 0), "sold 12", seconds=0)])
    assert shop.winners() == set()  # provisional: its window is open
    timer = SettleTimer(shop.app.unit_of_work, shop.app.shop, shop.clock, every=0.01)
    timer.start()
    try:
        shop.at(moment(0) + SETTLE)
        wait_until(lambda: shop.winners() == {post_id(network, 0, 0)}, "the timer settled it")
    finally:
        timer.stop()


@on_sqlite
def test_a_pass_in_the_same_settle_step_releases_what_was_just_won(shop: SaleShop) -> None:
    network = "bluesky"
    link_everyone(shop, network, 2)
    shop.open(network, {"12": ("mug", 1)})
    shop.ingest(
        [
            claim(network, 0, key(network, 0), "sold 12", seconds=0),
            claim(network, 1, key(network, 1), "sold 12", seconds=1),
            claim(network, 0, key(network, 2), "pass 12", seconds=2),
        ]
    )
    assert shop.winners() == {post_id(network, 1, 1)}
    assert shop.statuses()[post_id(network, 0, 0)] == "released"
    with shop.app.unit_of_work() as uow:
        level = uow.stock.level("mug")
    assert level is not None and level.reserved == 1  # the pass gave its hold back


def _board(shop: SaleShop) -> list[tuple[int, str]]:
    """The claim board's lines: (claim id, kind), in the order they were written."""
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.sale_claim_events.c.claim_id, t.sale_claim_events.c.kind).order_by(
                t.sale_claim_events.c.id
            )
        )
        return [(row.claim_id, row.kind) for row in rows]


def test_winners_commit_before_the_waitlisted_and_a_crash_between_leaves_them_due(
    shop: SaleShop,
) -> None:
    """The settle step commits an item's winners (hold, invoice, `claim_won`) before it
    writes its waitlisted in a second transaction; when that never comes (the process dies
    between the two), the losers are still due and the next pass settles them as the one
    transaction would have: same places, one answer each."""
    network = "mastodon"
    link_everyone(shop, network, 4)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(10))
    shop.ingest(
        [claim(network, n, key(network, n), "sold 12", seconds=8 + n) for n in (2, 0, 3, 1)]
    )
    shop.at(moment(11) + SETTLE)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        counts, losers = settle_winners_first(uow.repository, shop.app.shop(), now)
    # Committed: the winner, told; the losers provisional, untold, off the board.
    assert (counts.won, counts.waitlisted, counts.messages) == (1, 0, 1)
    assert len(losers.claims) == 3
    assert shop.winners() == {post_id(network, 0, 0)}
    assert sorted(shop.statuses().values()) == ["held"] + ["provisional"] * 3
    assert shop.reasons() == ["claim_won"]
    assert [kind for _, kind in _board(shop)] == ["won"]
    # The process dies here: `losers` is lost. The next pass settles them.
    shop.settle()
    assert shop.winners() == {post_id(network, 0, 0)}
    assert sorted(shop.reasons()) == ["claim_waitlisted"] * 3 + ["claim_won"]
    told = {m["in_reply_to"]: m["text"] for m in shop.outbox() if m["reason"] == "claim_waitlisted"}
    for place, number in enumerate((1, 2, 3), start=1):
        assert f"number {place} on its waitlist" in told[post_id(network, number, number)]
    assert [kind for _, kind in _board(shop)] == ["won"] + ["waitlisted"] * 3
    # The lost transaction's work, done late after all, finds them settled: nothing twice.
    with shop.app.unit_of_work() as uow:
        late = losers.write(uow.repository)
    assert (late.waitlisted, late.messages) == (0, 0)
    assert len(shop.outbox()) == 4


@on_sqlite
def test_the_waitlisted_are_written_after_the_winners_in_a_transaction_of_their_own(
    shop: SaleShop,
) -> None:
    network = "x"
    link_everyone(shop, network, 3)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(10))
    shop.ingest([claim(network, n, key(network, n), "sold 12", seconds=8 + n) for n in (1, 2, 0)])
    shop.at(moment(11) + SETTLE)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        counts, losers = settle_winners_first(uow.repository, shop.app.shop(), now)
    with shop.app.unit_of_work() as uow:
        later = losers.write(uow.repository)
    assert (counts.settled, later.settled, later.waitlisted, later.messages) == (1, 2, 2, 2)
    statuses = shop.statuses()
    assert statuses[post_id(network, 0, 0)] == "held"
    assert statuses[post_id(network, 1, 1)] == statuses[post_id(network, 2, 2)] == "waitlisted"
    # The winner's answer and board line first, then the waitlisted's, by platform time.
    assert shop.reasons() == ["claim_won", "claim_waitlisted", "claim_waitlisted"]
    assert [kind for _, kind in _board(shop)] == ["won", "waitlisted", "waitlisted"]
    assert "number 2 on its waitlist" in shop.messages("claim_waitlisted")[1]


def test_a_waitlisted_claims_place_counts_those_before_it_by_time_and_post_id(
    shop: SaleShop,
) -> None:
    """The place is counted by the database (the waitlisted made after the claim, those
    made at the same second told apart by post id): a late claim goes before the ones it
    precedes, a claim made at the same moment as two others between them."""
    network = "mastodon"
    link_everyone(shop, network, 5)
    shop.open(network, {"12": ("mug", 1)})
    shop.at(moment(10) + SETTLE)
    shop.ingest(
        [
            claim(network, n, key(network, n), "sold 12", seconds=s)
            for n, s in ((0, 1), (2, 3), (4, 3))
        ]
    )
    shop.ingest(
        [claim(network, n, key(network, n), "sold 12", seconds=s) for n, s in ((1, 2), (3, 3))]
    )
    told = {m["in_reply_to"]: m["text"] for m in shop.outbox() if m["reason"] == "claim_waitlisted"}
    for number, place in ((2, 1), (4, 2), (1, 1), (3, 3)):
        assert f"number {place} on its waitlist" in told[post_id(network, number, number)]
