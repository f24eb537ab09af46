"""Benchmark streams: one network's wire format, any length, fast and deterministic.

Each stream is mostly everyday noise (with near-miss tags such as #carts, #cartoon, #art,
#wishes and words like "McCartney"), about 1 % brand posts linking to the demo catalogue,
and exactly `round(n * trigger_rate)` trigger replies (`#cart` in mixed case) to earlier
brand posts, from a pool of shopper accounts that `bench_accounts` lists so the bench can
link them to customers. A few hard decoys are mixed in: reposts of triggers, `#cart`
replies to posts with no product, and `#cart` posts that reply to nothing.

Lines are stamped from pre-encoded templates (see `_template`); generating one costs a
few microseconds, not a `json.dumps` of a 3 KB object. Each network has its own module
(`bench_x`, `bench_mastodon`, `bench_jetstream`); `_bench_base` holds what they share.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from hashcart.synthetic._bench_base import POOL_SIZE, Stream, shoppers
from hashcart.synthetic.bench_jetstream import JetstreamStream
from hashcart.synthetic.bench_mastodon import MastodonStream
from hashcart.synthetic.bench_x import XStream

__all__ = [
    "BRAND_RATE",
    "DECOY_RATE",
    "NEAR_MISS_RATE",
    "POOL_SIZE",
    "SHAPES",
    "BenchShape",
    "bench_accounts",
    "bench_stream",
    "bench_trigger_count",
]

BenchShape = Literal["x", "mastodon", "jetstream"]
SHAPES: tuple[BenchShape, ...] = ("x", "mastodon", "jetstream")

BRAND_RATE = 0.01
DECOY_RATE = 0.003  # reposts of triggers + #cart replies without product + #cart non-replies
NEAR_MISS_RATE = 0.02  # noise whose tags or words contain "cart", "art", "wish"

_STREAMS: dict[str, type[Stream]] = {
    "x": XStream,
    "mastodon": MastodonStream,
    "jetstream": JetstreamStream,
}


def bench_trigger_count(n: int, trigger_rate: float = 0.005) -> int:
    """How many trigger replies `bench_stream(shape, n, trigger_rate)` yields."""
    return round(n * trigger_rate)


def bench_accounts(
    shape: BenchShape, seed: int = 1, pool_size: int = POOL_SIZE
) -> list[tuple[str, str]]:
    """The shopper accounts whose triggers `bench_stream(shape, ..., seed=seed)` carries:
    (stable account id, handle) — X user id_str, Mastodon account uri, Bluesky DID."""
    out = []
    for persona in shoppers(shape, seed, pool_size):
        if shape == "x":
            assert persona.x is not None
            out.append((persona.x.id_str, persona.x.screen_name))
        elif shape == "mastodon":
            assert persona.mastodon is not None
            out.append((persona.mastodon.uri, persona.mastodon.acct))
        else:
            assert persona.bluesky is not None
            out.append((persona.bluesky.did, persona.bluesky.handle))
    return out


def bench_stream(
    shape: BenchShape,
    n: int,
    trigger_rate: float = 0.005,
    seed: int = 1,
    host: str = "shop.example",
    *,
    pool_size: int = POOL_SIZE,
    brand_rate: float = BRAND_RATE,
    decoy_rate: float = DECOY_RATE,
    near_miss_rate: float = NEAR_MISS_RATE,
) -> Iterator[bytes]:
    """`n` lines (without newlines) of one network's stream; the same arguments always give
    the same bytes."""
    if shape not in SHAPES:
        raise ValueError(f"unknown bench shape {shape!r}; expected one of {SHAPES}")
    if n < 0:
        raise ValueError("n must be >= 0")
    if trigger_rate < 0.0 or trigger_rate + brand_rate + decoy_rate > 0.9:
        raise ValueError("trigger_rate + brand_rate + decoy_rate must stay below 0.9")
    if n == 0:
        return iter(())
    return _STREAMS[shape](seed, host, pool_size).lines(
        n, bench_trigger_count(n, trigger_rate), brand_rate, decoy_rate, near_miss_rate
    )
