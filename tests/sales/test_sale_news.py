"""A long-running process learns a sale opened after it read the shop (issue 13 at scale,
issue 15): a claim carries no tag, only its parent names the sale, so the live sink (behind
the stream listeners and webhooks, and the bus's edge) looks for new sale posts before each
call instead of waiting for its next re-read of the shop; otherwise the first claims of a
sale would be skipped by the prefilter for good."""

from __future__ import annotations

from hashcart.services.live_ingest import LiveIngest
from tests.sales.support import SaleShop, claim, key, link_everyone, post_id

NETWORK = "bluesky"


def test_the_live_sink_hears_the_claims_of_a_sale_opened_since_it_read_the_shop(
    tmp_path: object,
) -> None:
    shop = SaleShop(f"sqlite:///{tmp_path}/news.db")
    link_everyone(shop, NETWORK, 2)
    sink = LiveIngest(shop.app)
    before = claim(NETWORK, 0, key(NETWORK, 0), "sold 12", seconds=1)
    sink.ingest("jetstream", "auto", [before])  # the shop read; no sale: no claim
    assert shop.claims() == []
    shop.open(NETWORK, {"12": ("mug", 1)})  # the clock does not move: no re-read is due
    sink.ingest("jetstream", "auto", [claim(NETWORK, 1, key(NETWORK, 1), "sold 12", seconds=2)])
    assert [c["post_id"] for c in shop.claims()] == [post_id(NETWORK, 1, 1)]
