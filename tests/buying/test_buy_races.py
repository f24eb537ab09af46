"""Buying with a post under concurrency, on SQLite and PostgreSQL (PostgreSQL is the one
where writers truly overlap): two confirms of one code at once make one charge and one
order; two settling processes pay once; many `#buy` at once on the last units never hold
more than there is."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from hashcart.services.ingest import Ingestor
from tests.buying.support import ALICE, MUG, BuyShop, code_in, own_post
from tests.integration.social import SHOPPERS, Shopper


def _together(work: list[Callable[[], object]]) -> list[BaseException]:
    """Run each callable in its own thread, released at once by a barrier; their errors."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            job()
        except BaseException as error:  # reported to the test: a thread cannot raise into it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def _ingestor(shop: BuyShop) -> Ingestor:
    return Ingestor(
        shop.app.unit_of_work,
        shop.app.shop(),
        shop.clock,
        reader=shop.app.payload_reader,
        settle_buys=shop.app.settle_buys,
    )


def test_two_confirms_of_one_code_at_once_make_one_charge_and_one_order(
    database_url: str,
) -> None:
    shop = BuyShop(database_url)
    alice = SHOPPERS["bluesky"]
    shop.shopper_with_card(ALICE, alice)
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    code = code_in(shop.outbox()[-1]["text"])
    confirms = [own_post(alice, alice.key(), f"#confirm {code}") for _ in range(4)]
    ingestors = [_ingestor(shop) for _ in confirms]

    errors = _together(
        [
            lambda i=i, line=line: i.ingest_lines("race", [line])  # type: ignore[misc]
            for i, line in zip(ingestors, confirms, strict=True)
        ]
    )

    assert errors == []
    assert len(shop.orders()) == 1
    assert len(shop.payments()) == 1 and shop.payments()[0]["status"] == "captured"
    assert shop.reasons().count("purchased") == 1
    assert sum(i.stats.actions.buys_confirmed for i in ingestors) == 1


def test_two_settling_processes_pay_for_a_confirmed_buy_once(database_url: str) -> None:
    shop = BuyShop(database_url)
    alice = SHOPPERS["x"]
    shop.shopper_with_card(ALICE, alice)
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    code = code_in(shop.outbox()[-1]["text"])
    # Claimed by an ingest that pays nothing itself (no settle_buys): `serve`'s sweeps pay.
    quiet = Ingestor(
        shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
    )
    quiet.ingest_lines("confirm", [own_post(alice, alice.key(), f"#confirm {code}")])
    assert shop.orders() == []

    errors = _together([shop.app.settle_buys for _ in range(4)])

    assert errors == []
    assert len(shop.orders()) == 1 and len(shop.payments()) == 1


def test_many_buys_at_once_on_the_last_units_never_hold_more_than_there_is(
    database_url: str,
) -> None:
    shop = BuyShop(database_url)
    shop.stock("mug", 2)
    brand = SHOPPERS["bluesky"]
    parent = brand.key()
    shop.ingest([brand.parent(parent, (MUG,))])
    shoppers = [
        Shopper(brand.network, f"did:plc:racer{n:020d}", f"racer{n}.bsky.social") for n in range(6)
    ]
    for n, shopper in enumerate(shoppers):
        shop.shopper_with_card(f"racer{n}@example.com", shopper)
    buys = [s.reply(s.key(), parent, "#buy") for s in shoppers]
    ingestors = [_ingestor(shop) for _ in buys]

    errors = _together(
        [
            lambda i=i, line=line: i.ingest_lines("race", [line])  # type: ignore[misc]
            for i, line in zip(ingestors, buys, strict=True)
        ]
    )

    assert errors == []
    reasons = sorted(shop.reasons())
    assert reasons == ["buy_confirm_needed"] * 2 + ["unavailable"] * 4
    assert shop.free("mug") == 0
    # Both holders confirm: two orders, and the stock is sold, never oversold.
    for request in shop.requests():
        racer = next(s for s in shoppers if s.account_id == request.account_id)
        shop.ingest([own_post(racer, racer.key(), f"#confirm {request.code}")])
    assert len(shop.orders()) == 2
    shop.later(60 * 24)
    assert shop.free("mug") == 0


def test_the_claim_itself_lets_one_of_many_transactions_win(database_url: str) -> None:
    """The conditional update alone, without the engine's writers taking turns: of many
    transactions claiming one request at once, exactly one is told it won."""
    shop = BuyShop(database_url)
    alice = SHOPPERS["mastodon"]
    shop.shopper_with_card(ALICE, alice)
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    [request] = shop.requests()
    won: list[bool] = []
    now = shop.clock.now() + timedelta(minutes=1)

    def claim(n: int) -> None:
        with shop.app.unit_of_work() as uow:
            won.append(
                uow.buys.claim_confirm(
                    request.id, request.network, request.account_id, f"confirm-{n}", now
                )
            )

    errors = _together([lambda n=n: claim(n) for n in range(6)])  # type: ignore[misc]

    assert errors == []
    assert sorted(won) == [False] * 5 + [True]
