"""Property (issue 13), on a real SQLite file through Mastodon's payload shape: whatever the
arrival order, the redeliveries and the settle steps in between, as long as every claim
arrives inside its settle window the winners are exactly the first claims by platform time
(then post id) up to the stock; so the same claims always give the same winners."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.sales import rank_key
from hashcart.ports import NewSaleItem
from hashcart.services.ingest import Ingestor
from hashcart.services.sales import open_sale, settle_sales
from tests.sales.support import SETTLE, SaleShop, moment, shopper

NETWORK = "mastodon"
_sales = itertools.count(1)
_posts = itertools.count(1)
_shop: list[SaleShop] = []


def _the_shop(root: Path) -> SaleShop:
    """One database for every example: each example runs its own sale on its own post."""
    if not _shop:
        _shop.append(SaleShop(f"sqlite:///{root / 'property.db'}"))
    return _shop[0]


_claim = st.tuples(
    st.integers(0, 20),  # the claim's own time, in tenths of a second
    st.integers(0, 24),  # how late it arrives, in tenths (under the 3 s window)
    st.booleans(),  # delivered twice
    st.integers(0, 30),  # when the second copy comes, in tenths after the first
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(claims=st.lists(_claim, min_size=1, max_size=10), stock=st.integers(0, 4))
def test_winners_are_the_first_by_platform_time_whatever_the_arrival(
    tmp_path_factory: pytest.TempPathFactory,
    claims: list[tuple[int, int, bool, int]],
    stock: int,
) -> None:
    shop = _the_shop(tmp_path_factory.getbasetemp())
    sale_number = next(_sales)
    parent = str(9_000_000 + sale_number)
    base = moment(sale_number * 60)
    shop.at(base)
    open_sale(
        shop.app.unit_of_work,
        f"sale {sale_number}",
        [(NETWORK, parent)],
        [NewSaleItem("12", "mug", stock)],
        24,
        shop.clock.now(),
    )
    ingestor = Ingestor(
        shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
    )
    arrivals = []
    ranks = {}
    for number, (tenths, late, twice, again) in enumerate(claims):
        made = base + timedelta(seconds=tenths / 10)
        post = str(next(_posts) + 10_000_000)
        who = shopper(NETWORK, number + 1)
        line = who.reply(post, parent, "sold 12", minutes=(made - moment(0)).total_seconds() / 60)
        ranks[post] = rank_key(made, post, NETWORK)
        arrivals.append((made + timedelta(seconds=late / 10), line))
        if twice:
            arrivals.append((made + timedelta(seconds=(late + again) / 10), line))
    for arrival, line in sorted(arrivals, key=lambda pair: pair[0]):
        shop.at(max(arrival, shop.clock.now()))
        ingestor.ingest_lines("property.jsonl", [line])
        settle_sales(shop.app.unit_of_work, shop.app.shop(), shop.clock)
    shop.at(shop.clock.now() + SETTLE + timedelta(seconds=3))
    settle_sales(shop.app.unit_of_work, shop.app.shop(), shop.clock)
    mine = [c for c in shop.claims() if c["sale_id"] == sale_number]
    assert len(mine) == len(claims)
    won = {c["post_id"] for c in mine if c["status"] == "held"}
    assert won == set(sorted(ranks, key=ranks.__getitem__)[:stock])
