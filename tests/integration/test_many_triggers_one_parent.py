"""More triggers in one batch than the store binds in one IN list (500), all under one
one-product post: each adds that product. Found by the bus's chaos test: the parent's id,
repeated across two chunks of the lookup, came back twice, its products were doubled, and
the one product looked like two ("which product?")."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri

MUG = f"https://{HOST}/products/enamel-mug"
SHOPPERS = 620  # more than one chunk of 500 ids, with the parent's id in both


def test_a_batch_of_620_triggers_under_one_post_adds_its_one_product_each_time(
    database_url: str,
) -> None:
    shop = Shop(database_url)
    dids = [f"did:plc:shopper{n:018d}" for n in range(SHOPPERS)]
    for n, did in enumerate(dids):
        shop.customer(f"s{n}@example.com", (Network.BLUESKY, did, f"s{n}.bsky.social"))
    parent = post_uri(SHOP_DID, "3mmbrand00001")
    lines = [jetstream_post(SHOP_DID, "3mmbrand00001", f"Mug {MUG}", links=(MUG,))]
    lines += [
        jetstream_post(did, f"3mmtrig{n:06d}", "#cart", reply_to=parent, minutes=1)
        for n, did in enumerate(dids)
    ]

    shop.ingest(lines, batch_size=5000)

    with shop.app.engine.connect() as connection:
        outcomes = Counter(connection.execute(select(t.actions.c.outcome)).scalars())
    assert outcomes == Counter({"added": SHOPPERS})
    shop.app.engine.dispose()
