"""`hashcart demo`: a demo shop in a fresh local database, fed a mixed stream from X, Mastodon
and Bluesky, with a shopper who links their account halfway through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hashcart.bootstrap import App
from hashcart.domain.posts import Network
from hashcart.services.catalog import FeedRow, parse_price
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.linking import LinkResult, link_account
from hashcart.store.repository import transaction
from hashcart.synthetic import DemoProduct, Shopper, demo_catalog, demo_shoppers, demo_stream

DEMO_HOST = "shop.example"


@dataclass
class DemoRun:
    products: int = 0
    shoppers: int = 0
    first: IngestStats = field(default_factory=IngestStats)
    second: IngestStats = field(default_factory=IngestStats)
    late_link: LinkResult | None = None
    late_shopper: str = ""


def feed_row(product: DemoProduct) -> FeedRow:
    """A demo product as the catalog import sees it."""
    amount, currency = parse_price(product.price)
    return FeedRow(
        product.product_id, product.title, product.link, amount, currency, product.availability
    )


def _link_all(app: App, shopper: Shopper) -> LinkResult:
    shop = app.shop()
    result = LinkResult(created=False)
    with transaction(app.engine) as repo:
        repo.add_customer(shopper.email, shopper.name, app.clock.now())
        for network, (account_id, handle) in shopper.accounts.items():
            linked = link_account(
                repo, shop, shopper.email, Network(network), account_id, handle, app.clock.now()
            )
            result.created |= linked.created
            result.applied += linked.applied
            result.expired += linked.expired
    return result


IngestRunner = Callable[[Ingestor, str, list[bytes]], None]


def run_demo(app: App, ingest: IngestRunner, seed: int = 7) -> DemoRun:
    """Build the demo shop in `app`'s database and stream the demo posts through it."""
    run = DemoRun()
    catalog = demo_catalog(DEMO_HOST)
    now = app.clock.now()
    with transaction(app.engine) as repo:
        run.products = repo.upsert_products(feed_row(p).as_values(now) for p in catalog)
    stream = demo_stream(seed=seed, host=DEMO_HOST, now=now)
    late = stream.late_shopper
    for shopper in demo_shoppers():
        if shopper.email == late.email:
            with transaction(app.engine) as repo:
                repo.add_customer(shopper.email, shopper.name, now)
        else:
            _link_all(app, shopper)
        run.shoppers += 1

    first = Ingestor(app.engine, app.shop(), app.clock)
    ingest(first, "demo stream, first half", stream.first_half)
    run.first = first.stats
    run.late_link = _link_all(app, late)
    run.late_shopper = late.email
    second = Ingestor(app.engine, app.shop(), app.clock)
    ingest(second, "demo stream, second half", stream.second_half)
    run.second = second.stats
    return run
