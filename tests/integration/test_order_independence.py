"""Order does not matter: the same posts in any order, in one file or many, give the same
carts, wish lists and messages (up to which of two equal requests counted first)."""

from __future__ import annotations

import functools
import itertools
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.posts import Network
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_delete, jetstream_post, post_uri

ALICE = "did:plc:alice0000000000000000000"
BOB = "did:plc:bob000000000000000000000"  # not linked
MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
KETTLE = f"https://{HOST}/products/gooseneck-kettle"
P1, P2, P3 = (post_uri(SHOP_DID, f"3mmbrand0000{n}") for n in (1, 2, 3))


def stream() -> list[bytes]:
    def trigger(did: str, rkey: str, text: str, parent: str, minutes: float) -> bytes:
        return jetstream_post(did, rkey, text, reply_to=parent, minutes=minutes)

    return [
        jetstream_post(SHOP_DID, "3mmbrand00001", f"Mug {MUG}", links=(MUG,)),
        jetstream_post(
            SHOP_DID, "3mmbrand00002", f"Pair {MUG} {BEANS}", links=(MUG, BEANS), minutes=1
        ),
        jetstream_post(SHOP_DID, "3mmbrand00003", f"Kettle {KETTLE}", links=(KETTLE,), minutes=2),
        trigger(ALICE, "3mmalice00001", "#cart", P1, 10),
        trigger(ALICE, "3mmalice00002", "#cart 1", P2, 11),  # the mug again: already there
        trigger(ALICE, "3mmalice00003", "#cart 2 x2", P2, 12),
        trigger(ALICE, "3mmalice00004", "#cart", P3, 13),  # out of stock
        trigger(ALICE, "3mmalice00005", "#wishlist", P3, 14),
        trigger(ALICE, "3mmalice00006", "#cart", P2, 15),  # which product?
        trigger(ALICE, "3mmalice00001", "#cart", P1, 10),  # a duplicate delivery
        trigger(BOB, "3mmbob0000001", "#cart", P1, 20),
        trigger(BOB, "3mmbob0000002", "#wishlist 2", P2, 21),
        jetstream_delete(ALICE, "3mmalice00005", minutes=30),
    ]


def outcome(lines: list[bytes], cuts: list[int]) -> tuple[object, ...]:
    with tempfile.TemporaryDirectory() as folder:
        shop = Shop(f"sqlite:///{Path(folder) / 'h.db'}")
        shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice"))
        bounds = [0, *sorted(cuts), len(lines)]
        for number, (start, end) in enumerate(itertools.pairwise(bounds)):
            shop.ingest(lines[start:end], source=f"part{number}.jsonl")
        messages = Counter((m["account_id"], m["reason"]) for m in shop.outbox())
        texts_per_reason = Counter(m["reason"] for m in shop.outbox())
        return (
            sorted(shop.cart("alice@example.com")),
            sorted(shop.wishlist("alice@example.com")),
            sorted((p["post_id"], p["status"]) for p in shop.pending()),
            messages,
            texts_per_reason,
        )


@functools.cache
def baseline() -> tuple[object, ...]:
    return outcome(stream(), [])


def test_the_baseline_stream_does_what_each_post_asks() -> None:
    cart, wishlist, pending, messages, _ = baseline()
    assert cart == [("beans", 2), ("mug", 1)]
    assert wishlist == ["kettle"]
    assert [status for _, status in pending] == ["waiting", "waiting"]
    assert messages == Counter(
        {
            (ALICE, "added"): 2,
            (ALICE, "already_in_cart"): 1,
            (ALICE, "unavailable"): 1,
            (ALICE, "wishlisted"): 1,
            (ALICE, "which_product"): 1,
            (BOB, "link_needed"): 1,
        }
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(stream()))),
    cuts=st.lists(st.integers(0, len(stream())), max_size=3),
)
def test_any_order_and_any_split_into_files_gives_the_same_result(
    order: list[int], cuts: list[int]
) -> None:
    lines = stream()
    assert outcome([lines[i] for i in order], cuts) == baseline()
