"""A network nobody built in: the toy network (tests/networks/toy/toy.py) is defined only
here and registered in one line, and hashcart takes it end to end - its payloads detected
and decoded, a `#cart` reply put in the cart, the confirmation sent through its own sender
to its API (a stand-in on loopback), its webhook served at /webhooks/toy - with no file
under src/ edited for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hashcart.domain.posts import Network
from hashcart.networks import registry
from hashcart.networks.formats import Format, detect
from hashcart.networks.post_urls import post_url
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.web.formatting import network_name
from tests.harness import HOST, Shop
from tests.loopback import LiveServer
from tests.networks.toy.toy import (
    NAME,
    SIGNATURE_HEADER,
    ToyNetworkServer,
    signature,
    toy_line,
    toy_network,
)
from tests.payloads import BASE_TIME
from tests.web.conftest import WebShop

SHOPPER = "ana@example.com"
AT = BASE_TIME.isoformat()
MUG_LINK = f"https://{HOST}/products/enamel-mug"
PARENT = toy_line("t1", "shop-1", "trailhead", f"Our new mug {MUG_LINK}", AT)
REPLY = toy_line("t2", "u7", "ana", "@trailhead #cart", AT, answers="t1")


@dataclass
class Toy:
    api: ToyNetworkServer
    url: str


@pytest.fixture
def toy() -> Iterator[Toy]:
    api = ToyNetworkServer()
    with LiveServer(api.app) as served:
        registry.register(toy_network(served.url))  # the one line that adds the network
        try:
            yield Toy(api, served.url)
        finally:
            registry.unregister(NAME)


def test_a_cart_reply_on_the_toy_network_fills_the_cart_and_is_answered_through_its_sender(
    database_url: str, toy: Toy
) -> None:
    shop = Shop(database_url)
    shop.customer(SHOPPER, (Network(NAME), "u7", "ana"))

    stats = shop.ingest([PARENT, REPLY])  # the format of each line is detected

    assert (stats.posts, stats.triggers, stats.dead_letters) == (2, 1, 0)
    assert shop.cart(SHOPPER) == [("mug", 1)]
    [message] = shop.outbox()
    assert (message["network"], message["account_id"], message["in_reply_to"]) == (
        NAME,
        "u7",
        "t2",
    )
    run = dispatch_once(shop.app)
    assert (run.sent, run.failed, run.retried) == (1, 0, 0)
    assert toy.api.replies == [{"in_reply_to": "t2", "to": "u7", "text": message["text"]}]
    # Sent once: a second run finds nothing due.
    assert dispatch_once(shop.app).sent == 0
    assert len(toy.api.replies) == 1


def test_the_toy_network_is_named_linked_to_and_detected_from_its_adapter(toy: Toy) -> None:
    assert detect(REPLY) == Format(NAME)
    assert network_name(NAME) == "Toy"
    assert post_url(NAME, "t1", "shop-1", "trailhead") == f"{toy.url}/posts/t1"


def test_the_toy_network_s_webhook_is_served_at_its_name(database_url: str, toy: Toy) -> None:
    web = WebShop(database_url)
    try:
        web.customer(SHOPPER, (Network(NAME), "u7", "ana"))
        client = web.browser().client

        def deliver(body: bytes, signed: str) -> tuple[int, object]:
            answer = client.post("/webhooks/toy", content=body, headers={SIGNATURE_HEADER: signed})
            return answer.status_code, answer.json()

        assert deliver(REPLY, "forged") == (401, {"error": "bad signature"})
        assert deliver(PARENT, signature(PARENT)) == (200, {"taken": True, "posts": 1})
        assert deliver(REPLY, signature(REPLY)) == (200, {"taken": True, "posts": 1})
        assert deliver(REPLY, signature(REPLY)) == (200, {"taken": False})
        assert web.cart(SHOPPER) == [("mug", 1)]
        # It sends no subscription challenge, so GET is not allowed.
        assert client.get("/webhooks/toy").status_code == 405
    finally:
        web.close()


def test_a_network_is_refused_under_a_name_already_registered(toy: Toy) -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(toy_network("http://127.0.0.1:9"))
