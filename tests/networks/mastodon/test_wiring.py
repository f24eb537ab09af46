"""What the settings switch on: the fetcher, the sender and the listener, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hashcart import live
from hashcart.networks.mastodon import webhook, wiring
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.mastodon.send import MastodonSender
from hashcart.networks.mastodon.stream import MastodonStreamListener
from tests.harness import Shop
from tests.networks.mastodon.conftest import Case, Server, link_shopper
from tests.networks.mastodon.standin import TOKEN
from tests.web.conftest import WebShop


def test_nothing_is_built_without_a_server_and_token(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'a.db'}", listeners=["mastodon"])
    sink = live.live_ingest(shop.app)
    assert wiring.fetcher(shop.app) is None
    assert wiring.sender(shop.app) is None
    assert wiring.listeners(shop.app, sink) == []


def test_a_server_without_a_token_is_not_enough(tmp_path: Path) -> None:
    shop = Shop(
        f"sqlite:///{tmp_path / 'b.db'}",
        mastodon_url="https://social.example",
        listeners=["mastodon"],
    )
    assert wiring.fetcher(shop.app) is None
    assert wiring.listeners(shop.app, live.live_ingest(shop.app)) == []


def test_server_and_token_give_fetcher_sender_and_the_named_listener(tmp_path: Path) -> None:
    settings = {"mastodon_url": "https://social.example/", "mastodon_access_token": "t"}
    named = Shop(f"sqlite:///{tmp_path / 'c.db'}", listeners=["mastodon"], **settings)
    assert isinstance(wiring.fetcher(named.app), MastodonParentFetcher)
    sender = wiring.sender(named.app)
    assert isinstance(sender, MastodonSender) and sender.network == "mastodon"
    found = wiring.listeners(named.app, live.live_ingest(named.app))
    assert [type(x) for x in found] == [MastodonStreamListener]
    assert found[0].name == "mastodon"
    unnamed = Shop(f"sqlite:///{tmp_path / 'd.db'}", listeners=["jetstream"], **settings)
    assert wiring.listeners(unnamed.app, live.live_ingest(unnamed.app)) == []
    assert "mastodon" in live.senders(unnamed.app)


def test_a_server_address_that_is_not_one_is_refused(tmp_path: Path) -> None:
    shop = Shop(
        f"sqlite:///{tmp_path / 'e.db'}",
        mastodon_url="social.example",
        mastodon_access_token="t",
    )
    with pytest.raises(ValueError, match="mastodon_url"):
        wiring.fetcher(shop.app)


def test_a_webhook_reply_to_an_unseen_post_fetches_it_from_the_server(
    tmp_path: Path, server: Server, case: Case
) -> None:
    secret = "0123456789abcdef0123456789abcdef01234567"
    web = WebShop(
        f"sqlite:///{tmp_path / 'web.db'}",
        mastodon_webhook_secret=secret,
        mastodon_url=server.url,
        mastodon_access_token=TOKEN,
    )
    try:
        email = link_shopper(web, "sam")
        server.stand_in.add_status(case.shop_post("1100", "beans"))
        body = json.dumps(
            {"event": "status.created", "object": case.reply("1101", "1100", "sam")}
        ).encode()
        response = web.browser().client.post(
            "/webhooks/mastodon",
            content=body,
            headers={webhook.SIGNATURE_HEADER: webhook.signature(secret, body)},
        )
        assert response.status_code == 200
        # The parent, once; and the server's status limit, asked when the confirmation is
        # composed (test_max_characters).
        assert sorted(seen.path for seen in server.stand_in.seen) == [
            "/api/v1/statuses/1100",
            "/api/v2/instance",
        ]
        assert web.cart(email) == [("beans", 1)]
    finally:
        web.close()
