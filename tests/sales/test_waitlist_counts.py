"""Each sale item's count of waitlisted claims is kept by the database (store/
waitlist_counts, migration 0035) through every kind of write: rows inserted waitlisted,
updated into and out of the waitlist one by one and many at once, moved to another item, and
deleted. SQLite (row triggers) and PostgreSQL (statement triggers). The settle path's own
writes are checked after every settle of tests/sales (support.SaleShop.settle)."""

from __future__ import annotations

from sqlalchemy import delete, update

from hashcart.domain.sales import ClaimAction
from hashcart.ports import NewClaim
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from hashcart.store.sales import StoredSales
from tests.sales.support import SaleShop, moment, post_id

NETWORK = "bluesky"


def _new(sale_id: int, number: int, item: str) -> NewClaim:
    return NewClaim(
        sale_id=sale_id,
        network=NETWORK,
        post_id=post_id(NETWORK, number, number),
        account_id=f"did:plc:counted{number}",
        handle=f"counted{number}.bsky.social",
        action=ClaimAction.CLAIM,
        item_number=item,
        words=(),
        quantity=1,
        posted_at=moment(number),
    )


def test_every_write_of_a_claim_keeps_its_items_waitlist_count(database_url: str) -> None:
    shop = SaleShop(database_url)
    sale = shop.open(NETWORK, {"1": ("mug", 1), "2": ("mug", 1)})
    one, two = (item.id for item in sale.items)
    sc = t.sale_claims
    now = moment(100)
    steps: list[tuple[dict[int, int], dict[int, int]]] = []

    def step() -> None:
        steps.append(shop.waitlist_counts())

    with transaction(shop.app.engine) as repo:
        records = StoredSales(repo.connection)
        records.add_claims([_new(sale.id, n, "1" if n <= 6 else "2") for n in range(1, 9)], now)
        ids = sorted(c.id for c in records.claims_of_item(one, ("provisional",)))
        (seventh, eighth) = sorted(c.id for c in records.claims_of_item(two, ("provisional",)))
    step()  # provisional: none waiting
    with transaction(shop.app.engine) as repo:
        records = StoredSales(repo.connection)
        records.waitlist_claims(dict.fromkeys(ids[:4], "mug"), now)  # many in one statement
        records.update_claim(eighth, status="waitlisted")  # one
    step()
    with transaction(shop.app.engine) as repo:
        records = StoredSales(repo.connection)
        records.update_each_claim(
            [(ids[0], {"status": "held", "settled_at": now}), (ids[1], {"remind_at": now})]
        )  # one leaves, one changes but stays
        records.update_claims([ids[2], ids[4]], status="waitlisted")  # one was already
        repo.connection.execute(update(sc).where(sc.c.id == ids[3]).values(item_id=two))
    step()
    with transaction(shop.app.engine) as repo:
        repo.connection.execute(delete(sc).where(sc.c.id.in_([ids[1], seventh])))
        repo.connection.execute(
            update(sc).where(sc.c.id == ids[5]).values(status="waitlisted", item_id=two)
        )
    step()
    with transaction(shop.app.engine) as repo:
        repo.connection.execute(update(sc).values(status="released"))
    step()

    for kept, counted in steps:
        assert kept == counted
    assert [kept for kept, _ in steps] == [
        {one: 0, two: 0},
        {one: 4, two: 1},
        {one: 3, two: 2},
        {one: 2, two: 3},
        {one: 0, two: 0},
    ]


def test_a_sale_deleted_takes_its_counted_claims_with_it(database_url: str) -> None:
    # The cascade deletes the items and the claims in one statement's actions; the claims'
    # delete trigger then finds its items gone and moves no count (no error either).
    shop = SaleShop(database_url)
    sale = shop.open(NETWORK, {"1": ("mug", 1)})
    kept = shop.open("mastodon", {"1": ("mug", 1)}, name="Saturday live")
    with transaction(shop.app.engine) as repo:
        records = StoredSales(repo.connection)
        records.add_claims([_new(sale.id, 1, "1")], moment(100))
        records.add_claims([_new(kept.id, 2, "1")], moment(100))
        ids = [
            c.id
            for i in (*sale.items, *kept.items)
            for c in records.claims_of_item(i.id, ("provisional",))
        ]
        records.waitlist_claims(dict.fromkeys(ids, "mug"), moment(100))
    with transaction(shop.app.engine) as repo:
        repo.connection.execute(delete(t.sales).where(t.sales.c.id == sale.id))
    assert shop.waitlist_counts() == ({kept.items[0].id: 1}, {kept.items[0].id: 1})
