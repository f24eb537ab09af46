"""Private messages a shopper's own notification policy may hide (issue 11).

entities/NotificationPolicy.md (Mastodon 4.3): `for_private_mentions` filters private
mentions, except from "accounts the user follows" and in "replies to private mentions
initiated by the user". The shop's account can ask whether a shopper follows it
(methods/accounts.md, relationships' `followed_by`; the stand-in answers in the documented
sample's shape). The first private message to a shopper who does not follow the shop goes,
noted in the console; the next ones go by email while that holds.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import select, update

from hashcart.domain.posts import Network
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.mastodon.send import PRIVATE_MESSAGE_FILTERED, MastodonSender
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.fallback import MAY_BE_UNSEEN
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from hashcart.views.console import outbox as console_outbox
from tests.harness import Shop
from tests.networks.mastodon.conftest import Case, Server, link_shopper, shopper_uri
from tests.networks.mastodon.standin import Answer
from tests.networks.mastodon.test_send import NOW, item
from tests.networks.mastodon.test_stream import ingest


def shopper_id(name: str) -> str:
    """The shopper's account id on the shop's server, as the stand-in's statuses carry it."""
    return str(zlib.crc32(shopper_uri(name).encode()))


def prefers_private_messages(shop: Shop, email: str) -> None:
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.customers)
            .where(t.customers.c.email == email)
            .values(notify_by="private_message")
        )


def rows(shop: Shop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.outbox).order_by(t.outbox.c.id)))


def cart_reply(server: Server, case: Case, status_id: str, parent: str, **more: Any) -> Any:
    reply = case.reply(status_id, parent, "sam", **more)
    server.stand_in.add_status(reply)  # the sender looks the trigger up
    return reply


def test_a_shopper_who_does_not_follow_the_shop_gets_one_noted_message_then_email(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    shop = shop_any_db
    sink = LiveIngest(shop.app, fetchers={Network.MASTODON: MastodonParentFetcher(server.api())})
    email = link_shopper(shop, "sam")
    prefers_private_messages(shop, email)
    ingest(sink, case.shop_post("1100", "mug"), case.shop_post("1200", "beans"))
    ingest(
        sink,
        cart_reply(server, case, "1101", "1100", minutes=1),
        cart_reply(server, case, "1102", "1200", minutes=2),
    )
    senders = {"mastodon": MastodonSender(server.api())}

    run = dispatch_once(shop.app, senders)

    assert run == DispatchRun(sent=1, failed=1, fell_back_to_email=1)
    first, second, fallback = rows(shop)
    # The first went as a private message (`direct`), and the console says it may be unseen.
    assert (first.channel, first.status) == ("private", "sent")
    assert server.stand_in.posted[0]["visibility"] == "direct"
    assert first.last_error == MAY_BE_UNSEEN + PRIVATE_MESSAGE_FILTERED
    with shop.app.engine.connect() as connection:
        shown = {m.id: m for m in console_outbox(connection).items}
    assert shown[first.id].last_error is not None
    assert "does not follow the shop" in shown[first.id].last_error
    # The second went by email instead, saying why.
    assert (second.status, second.last_error) == ("failed", PRIVATE_MESSAGE_FILTERED)
    assert (fallback.network, fallback.account_id) == ("email", email)
    assert "does not follow the shop" in fallback.text
    assert len(server.stand_in.posted) == 1
    asked = server.stand_in.requests("/api/v1/accounts/relationships")
    assert {value for seen in asked for _, value in seen.query} == {shopper_id("sam")}

    # Once they follow the shop, private messages go privately again, with no note.
    server.stand_in.followers.add(shopper_id("sam"))
    ingest(sink, cart_reply(server, case, "1103", "1100", minutes=3))
    assert dispatch_once(shop.app, senders).sent == 1
    third = rows(shop)[-1]
    assert (third.in_reply_to, third.status, third.last_error) == ("1103", "sent", None)
    assert len(server.stand_in.posted) == 2


def test_a_private_message_to_a_follower_goes_without_a_note(server: Server, case: Case) -> None:
    server.stand_in.followers.add(shopper_id("sam"))
    cart_reply(server, case, "1101", "1100")
    sent = MastodonSender(server.api()).send(item(channel="private"), NOW)
    assert sent.may_be_unseen is None
    assert server.stand_in.posted[0]["visibility"] == "direct"


def test_an_answer_to_the_shoppers_own_private_mention_is_always_allowed(
    server: Server, case: Case
) -> None:
    # "Replies to private mentions initiated by the user ... are always allowed".
    cart_reply(server, case, "1101", "1100", visibility="direct")
    later = item(channel="private")
    sent = MastodonSender(server.api()).send(later, NOW)
    assert sent.may_be_unseen is None
    assert server.stand_in.requests("/api/v1/accounts/relationships") == []


def test_a_refused_relationship_lookup_sends_as_before(server: Server, case: Case) -> None:
    # A token without `read:follows` gets 403 (hand-built body, Mastodon's error shape):
    # nothing is known, so nothing is claimed.
    cart_reply(server, case, "1101", "1100")
    server.stand_in.relationship_answers.append(
        Answer(403, "This action is outside the authorized scopes")
    )
    sent = MastodonSender(server.api()).send(item(channel="private"), NOW)
    assert sent.may_be_unseen is None
    assert len(server.stand_in.posted) == 1
