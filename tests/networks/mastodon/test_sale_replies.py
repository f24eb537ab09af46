"""Live-sale claims on Mastodon (issue 13): a claim is an untagged reply, and a reply whose
author took the shop's @mention out raises no notification (Mastodon notifies mentions, not
replies: mastodon/mastodon#5797 and #10865, open), so neither the notification stream nor a
hashtag stream carries it. While a sale is open the listener reads its posts' replies through
`GET /api/v1/statuses/:id/context` (docs.joinmastodon.org/methods/statuses/#context: the
`descendants`), hands the direct replies over once, and stops asking when the sale closes."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from sqlalchemy import select

from hashcart.networks.mastodon.stream import MastodonStreamListener
from hashcart.ports import NewSaleItem
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.sales import close_sale, open_sale
from hashcart.store import schema as t
from tests.harness import Shop
from tests.networks.mastodon.conftest import (
    Case,
    RecordedWaits,
    Server,
    link_shopper,
    shopper_uri,
    status_id,
)
from tests.networks.mastodon.standin import status_like
from tests.networks.mastodon.test_stream import run_until
from tests.payloads import BASE_TIME


def _claims(shop: Shop) -> list[str]:
    with shop.app.engine.connect() as connection:
        return list(connection.scalars(select(t.sale_claims.c.post_id)))


def _quiet_reply(case: Case, reply_id: str, parent_id: str, minutes: float) -> dict[str, object]:
    """`sold 12` with no @mention (its author deleted the one the client put in)."""
    return status_like(
        case.template,
        reply_id,
        "<p>sold 12</p>",
        account_uri=shopper_uri("maya"),
        acct="maya@elsewhere.example",
        created_at=BASE_TIME + timedelta(minutes=minutes),
        reply_to=parent_id,
    )


def test_replies_to_an_open_sale_s_post_without_a_mention_are_claims(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    link_shopper(shop, "maya")
    sale_post, claim, nested = status_id(0), status_id(1), status_id(2)
    stand_in = server.stand_in
    stand_in.add_status(case.shop_post(sale_post))
    stand_in.add_status(_quiet_reply(case, claim, sale_post, minutes=1))
    stand_in.add_status(_quiet_reply(case, nested, claim, minutes=2))  # answers the reply
    units = shop.app.unit_of_work
    item = NewSaleItem("12", "mug", 2)
    open_sale(units, "Friday live", [("mastodon", sale_post)], [item], 24, shop.clock.now())
    subject = MastodonStreamListener(sink, server.api(), wait=RecordedWaits(), rng=random.Random(7))

    run_until(subject, lambda: _claims(shop) == [claim], "the quiet reply's claim")
    assert asyncio.run(subject.read_sale_replies()) == 0  # handed over once
    assert _claims(shop) == [claim]  # the reply to the reply is no claim

    close_sale(units, "Friday live", shop.clock.now())
    shop.clock.advance(timedelta(seconds=3))  # the sink reads the shop again
    context = f"/api/v1/statuses/{sale_post}/context"
    asked = len(stand_in.requests(context))
    assert asked >= 2
    assert asyncio.run(subject.read_sale_replies()) == 0
    assert len(stand_in.requests(context)) == asked  # a closed sale's post is not read
