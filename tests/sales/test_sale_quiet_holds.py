"""A settle step reads an item's quiet holds as a sum of units (issue 13's burst): paid
claims, and holds of linked shoppers not run out and owed no reminder, change nothing in a
step; every other hold and every due claim is still read whole. SQLite and PostgreSQL
(`_quiet` is NULL-safe SQL on both)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from hashcart.domain.sales import ClaimAction
from hashcart.ports import NewClaim
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from hashcart.store.sales import StoredSales
from tests.sales.support import SaleShop, moment, post_id

NETWORK = "mastodon"


def _new(sale_id: int, number: int, quantity: int = 1) -> NewClaim:
    return NewClaim(
        sale_id=sale_id,
        network=NETWORK,
        post_id=post_id(NETWORK, number, number),
        account_id=f"https://social.example/users/quiet{number}",
        handle=f"quiet{number}",
        action=ClaimAction.CLAIM,
        item_number="1",
        words=(),
        quantity=quantity,
        posted_at=moment(number),
    )


def test_quiet_holds_are_summed_and_every_other_claim_to_settle_is_read(
    database_url: str,
) -> None:
    shop = SaleShop(database_url)
    sale = shop.open(NETWORK, {"1": ("mug", 30)})
    (item,) = sale.items
    now = moment(100)
    later, earlier = now + timedelta(hours=1), now - timedelta(seconds=1)
    held: dict[str, Any] = {"status": "held", "product_id": "mug"}
    shapes: dict[str, tuple[int, dict[str, Any]]] = {
        "paid": (2, {"status": "paid", "hold_until": earlier}),
        "quiet": (3, {**held, "hold_until": later}),
        "quiet, reminded": (4, {**held, "hold_until": later, "remind_at": later}),
        "run out": (1, {**held, "hold_until": now}),
        "reminder due": (1, {**held, "hold_until": later, "remind_at": now}),
        "unlinked": (1, {**held, "hold_until": later, "customer_id": None}),
        "waitlisted": (1, {"status": "waitlisted"}),
        "due": (1, {}),
        "not due yet": (1, {}),
    }
    with transaction(shop.app.engine) as repo:
        customer = repo.connection.execute(
            insert(t.customers).values(email="quiet@shop.example", created_at=now)
        ).inserted_primary_key[0]
        records = StoredSales(repo.connection)
        records.add_claims(
            [_new(sale.id, n, q) for n, (q, _) in enumerate(shapes.values(), 1)], now
        )
        ids = {
            claim.post_id: claim.id for claim in records.claims_of_item(item.id, ("provisional",))
        }
        named = {name: ids[post_id(NETWORK, n, n)] for n, name in enumerate(shapes, 1)}
        for name, (_, values) in shapes.items():
            if name == "not due yet":
                records.update_claim(named[name], posted_at=now + timedelta(seconds=5))
            elif values:
                records.update_claim(named[name], **{"customer_id": customer, **values})
        cutoff = now
        summed, units = records.claims_to_settle_summing([item.id], cutoff, now, [item.id])
        whole, none = records.claims_to_settle_summing([item.id], cutoff, now, [])
        quiet = records.quiet_holds_of([item.id], now)

    read = {name for name, claim_id in named.items() if claim_id in {c.id for c in summed[item.id]}}
    assert read == {"run out", "reminder due", "unlinked", "due"}
    assert units == {item.id: 2 + 3 + 4}
    assert {c.id for c in quiet} == {named["paid"], named["quiet"], named["quiet, reminded"]}
    # Nothing summed: the holds are all read, as claims_to_settle_of reads them.
    assert {c.id for c in whole[item.id]} == {c.id for c in [*summed[item.id], *quiet]}
    assert none == {}
    shop.app.engine.dispose()
