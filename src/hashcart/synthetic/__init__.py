"""Synthetic post streams in the networks' real wire formats, for `hashcart demo` and
`hashcart bench`.

- `demo_stream`: about 400 lines of a day's traffic on X (v1.1 and v2), Mastodon (plain
  statuses and streaming messages) and Bluesky Jetstream, scripted so that every case the
  engine must handle appears; `DemoStream.scenarios` says where.
- `bench_stream`: any number of lines of one network's shape, fast and deterministic, with
  an exact share of trigger replies from the accounts `bench_accounts` lists.
- `demo_catalog`, `demo_shoppers`, `demo_brand`: the shop, its shoppers and its accounts.
"""

from hashcart.synthetic.bench import (
    BenchShape,
    bench_accounts,
    bench_stream,
    bench_trigger_count,
)
from hashcart.synthetic.catalog import (
    DemoProduct,
    Shopper,
    demo_brand,
    demo_catalog,
    demo_shoppers,
)
from hashcart.synthetic.demo import SCENARIOS, DemoStream, Scenario, demo_stream

__all__ = [
    "SCENARIOS",
    "BenchShape",
    "DemoProduct",
    "DemoStream",
    "Scenario",
    "Shopper",
    "bench_accounts",
    "bench_stream",
    "bench_trigger_count",
    "demo_brand",
    "demo_catalog",
    "demo_shoppers",
    "demo_stream",
]
