"""A Mastodon account deleted or suspended on its server is noticed when a message to it is sent.

Mastodon has no webhook or stream event for it, but the account's statuses go with it: when
the trigger to answer is gone, the sender looks its author up. methods/accounts.md#lookup:
`GET /api/v1/accounts/lookup?acct=` answers 404 "Record not found" when the address "does
not map to an account"; entities/Account.md#suspended: `suspended: true`, "returned only when
an account is suspended". Then the message fails for good, the shopper hears by email, and
the account is forgotten (link, tokens, stored posts); the cart and orders stay. Each flow
runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from hashcart.domain.posts import Network
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.mastodon.send import ACCOUNT_GONE, MastodonSender
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.ports import SendFailed
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from tests.harness import Shop
from tests.networks.mastodon.conftest import Case, Server, link_shopper, shopper_uri
from tests.networks.mastodon.standin import Answer
from tests.networks.mastodon.test_send import NOW, item
from tests.networks.mastodon.test_stream import ingest


def rows(shop: Shop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.outbox).order_by(t.outbox.c.id)))


def held(shop: Shop) -> dict[str, int]:
    uri = shopper_uri("sam")
    with shop.app.engine.connect() as connection:
        links = connection.scalar(
            select(func.count()).where(
                t.account_links.c.network == "mastodon", t.account_links.c.account_id == uri
            )
        )
        posts = connection.scalar(
            select(func.count()).where(t.posts.c.network == "mastodon", t.posts.c.author_id == uri)
        )
        orders = connection.scalar(select(func.count()).select_from(t.orders))
    return {"links": links or 0, "posts": posts or 0, "orders": orders or 0}


def with_an_order(shop: Shop, email: str) -> None:
    with shop.app.engine.begin() as connection:
        customer = connection.scalar(select(t.customers.c.id).where(t.customers.c.email == email))
        connection.execute(
            insert(t.orders).values(
                customer_id=customer, checkout_key="k1", status="paid", email=email,
                ship_name="Sam", ship_line1="1 Road", ship_city="Town", ship_postcode="1",
                ship_country="US", payment_gateway="invoice", payment_reference="r1",
                total_amount=Decimal("12.00"), currency="USD", created_at=NOW,
            )
        )  # fmt: skip


def a_reply_waiting(server: Server, shop: Shop, case: Case) -> str:
    """Sam, linked and with an order, replies `#cart` under the shop's post; the
    confirmation waits in the outbox. Sam's status is on the server until the test says."""
    sink = LiveIngest(shop.app, fetchers={Network.MASTODON: MastodonParentFetcher(server.api())})
    email = link_shopper(shop, "sam")
    with_an_order(shop, email)
    reply = case.reply("1101", "1100", "sam")
    server.stand_in.add_status(reply)
    ingest(sink, case.shop_post("1100", "mug"), reply)
    assert [row.status for row in rows(shop)] == ["queued"]
    return email


@pytest.mark.parametrize("state", ["deleted", "suspended"])
def test_a_gone_account_is_forgotten_and_the_shopper_hears_by_email(
    server: Server, shop_any_db: Shop, case: Case, state: str
) -> None:
    shop = shop_any_db
    email = a_reply_waiting(server, shop, case)
    assert held(shop) == {"links": 1, "posts": 1, "orders": 1}
    # The account goes, and its statuses with it.
    del server.stand_in.statuses["1101"]
    server.stand_in.gone_accounts["sam@elsewhere.example"] = state

    run = dispatch_once(shop.app, {"mastodon": MastodonSender(server.api())})

    assert run == DispatchRun(failed=1, fell_back_to_email=1)
    reply, fallback = rows(shop)
    assert (reply.status, reply.last_error) == ("failed", ACCOUNT_GONE)
    assert (fallback.channel, fallback.account_id) == ("email", email)
    assert server.stand_in.posted == []
    looked_up = server.stand_in.requests("/api/v1/accounts/lookup")
    assert [seen.query for seen in looked_up] == [[("acct", "sam@elsewhere.example")]]
    assert held(shop) == {"links": 0, "posts": 0, "orders": 1}
    assert shop.cart(email) == [("mug", 1)]


def test_a_deleted_trigger_of_a_live_account_forgets_nothing(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    shop = shop_any_db
    email = a_reply_waiting(server, shop, case)
    del server.stand_in.statuses["1101"]  # sam deleted the reply, not the account

    run = dispatch_once(shop.app, {"mastodon": MastodonSender(server.api())})

    assert run == DispatchRun(failed=1, fell_back_to_email=1)
    assert rows(shop)[0].last_error.startswith("the Mastodon post to answer is gone")
    assert held(shop) == {"links": 1, "posts": 1, "orders": 1}
    assert shop.cart(email) == [("mug", 1)]


@pytest.mark.parametrize(
    "answer", [Answer(500, "boom"), Answer(429, "Too many requests"), Answer(403, "no")]
)
def test_a_lookup_that_cannot_tell_forgets_nothing(server: Server, answer: Answer) -> None:
    # No trigger on the server: the sender asks about the account, and is refused.
    server.stand_in.gone_accounts["sam@elsewhere.example"] = answer
    with pytest.raises(SendFailed) as failed:
        MastodonSender(server.api()).send(item(), NOW)
    assert failed.value.permanent and not failed.value.account_gone
    assert len(server.stand_in.requests("/api/v1/accounts/lookup")) == 1


def test_an_account_that_is_someone_else_now_is_not_gone(server: Server) -> None:
    # The name answers with another account's URI: not the one we linked.
    assert server.api().account_gone("sam@elsewhere.example", shopper_uri("sam")) is False
    assert server.api().account_gone("sam@elsewhere.example", shopper_uri("other")) is None


@pytest.mark.parametrize(
    "acct",
    ["", "sam@", "@sam", "sam@elsewhere.example/../x", "s\x00am", "sam am", "x" * 65, "é"],
)
def test_an_odd_acct_is_not_looked_up(server: Server, acct: str) -> None:
    assert server.api().account_gone(acct, shopper_uri("sam")) is None
    assert server.stand_in.requests("/api/v1/accounts/lookup") == []


def test_a_message_without_a_greeting_asks_nothing(server: Server) -> None:
    sender = MastodonSender(server.api())
    lone = item()
    with pytest.raises(SendFailed) as failed:
        sender.send(replace(lone, text="no greeting here"), NOW)
    assert not failed.value.account_gone
    assert server.stand_in.requests("/api/v1/accounts/lookup") == []
