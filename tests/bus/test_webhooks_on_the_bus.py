"""`POST /webhooks/{network}` with a bus (`bus_url`): the web app runs the prefilter at the
edge and publishes what it keeps (live_bus.BusIngest, the listeners' sink too), and a
`hashcart worker` commits the cart line, once, however often the network delivers.

The deliveries are Mastodon's admin webhooks as tests/networks/mastodon/test_webhook.py builds
them (Webhooks::DeliveryWorker's envelope and signature), around recorded real statuses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from hashcart.store import schema as t
from tests.bus.support import hashcart_env, run_hashcart
from tests.bus.workers import Workers, wait_until_drained
from tests.databases import fresh_postgres_database
from tests.networks.mastodon.conftest import Case, link_shopper, shopper_uri
from tests.networks.mastodon.standin import Recordings
from tests.networks.mastodon.test_webhook import SECRET, deliver, envelope
from tests.web.conftest import WebShop

BUS = {"bus_partitions": "2", "bus_lease_seconds": "3"}


@contextmanager
def shop_on_the_bus(
    bus_url: str, postgres_server: str, tmp_path: Path, **worker_settings: str
) -> Iterator[tuple[WebShop, Workers]]:
    """A web app whose webhooks publish to the bus, and (not started) workers behind it
    with `worker_settings`."""
    database = fresh_postgres_database(postgres_server)
    env = hashcart_env(database, bus_url, **BUS, **worker_settings)
    run_hashcart(["bus", "init"], env)
    web = WebShop(database, mastodon_webhook_secret=SECRET, bus_url=bus_url, **BUS)
    workers = Workers(env, tmp_path)
    try:
        yield web, workers
    finally:
        workers.stop_all()
        sink = getattr(web.web.state, "live_sink", None)
        if sink is not None:
            sink.close()
        web.close()


def actions(web: WebShop) -> int:
    with web.app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(t.actions)) or 0)


def test_a_webhook_delivered_twice_on_the_bus_fills_the_cart_once(
    bus_url: str, postgres_server: str, shared_fixtures: Path, tmp_path: Path
) -> None:
    case = Case(Recordings.load(shared_fixtures))
    with shop_on_the_bus(bus_url, postgres_server, tmp_path) as (web, workers):
        email = link_shopper(web, "sam")
        reply = case.reply("1101", "1100", "sam")
        answers = [
            deliver(web, envelope("status.created", case.shop_post("1100"))),
            deliver(web, envelope("status.created", reply)),
            deliver(web, envelope("status.created", reply)),  # the same delivery again
            # The same status in a delivery of its own (a network that sends it again).
            deliver(web, envelope("status.created", reply).replace(b"12:01", b"12:02", 1)),
        ]
        assert [answer.status_code for answer in answers] == [200] * 4
        assert web.cart(email) == []  # the web app published; it acted on nothing itself
        workers.start()
        wait_until_drained(bus_url, workers)  # each message acknowledged after its commit
        assert web.cart(email) == [("mug", 1)]
        assert [(m["reason"], m["account_id"]) for m in web.outbox()] == [
            ("added", shopper_uri("sam"))
        ]
        assert actions(web) == 1
