"""A refused X confirmation goes by the shopper's other channels (issue 11): "a `#cart`
without the mention still works for the cart (the line is added) and the confirmation goes by
the shopper's other channels". X refuses the reply (its 2026 reply rule: xdevplatform/docs
changelog.mdx 2026-02-23; the refusal body is the stand-in's hand-built one, see stand_in.py);
hashcart then sends it as a private message on another network the shopper linked: a
Mastodon direct message (docs.joinmastodon.org methods/statuses.md, `visibility=direct`,
against the Mastodon stand-in) or a Bluesky chat message (lexicons chat/bsky/convo, against
the chat PDS stand-in of tests/networks/bluesky/test_chat.py), else by email."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.mastodon.send import MastodonSender
from hashcart.networks.x.send import REPLY_RESTRICTED, XSender
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.senders import Sender
from hashcart.store import schema as t
from hashcart.views.funnel import funnel
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.test_chat import ADA, ChatPds, pds, shop_on
from tests.networks.mastodon.conftest import Server, recordings, server
from tests.networks.mastodon.standin import TOKEN
from tests.networks.x.conftest import (
    SHOP_HANDLE,
    SHOPPER_EMAIL,
    SHOPPER_HANDLE,
    SHOPPER_ID,
    ServedStandIn,
)
from tests.networks.x.payloads import stream_line, v2_post, v2_shop_post
from tests.networks.x.stand_in import REPLY_RESTRICTED as RESTRICTION_ANSWER
from tests.networks.x.stand_in import SHOP_USER_ID, Scripted, XStandIn

__all__ = ["pds", "recordings", "server"]  # fixtures, used by name

PARENT_ID, REPLY_ID = "1890000000000000001", "1890000000000000002"
MAYA_MASTODON = "https://social.example/users/maya"
MAYA_ACCT = "maya@social.example"


@dataclass
class Rig:
    shop: Shop
    x: ServedStandIn
    pds: ChatPds
    mastodon: Server

    def senders(self, *networks: str) -> dict[str, Sender]:
        self.x.x.create_script.append(Scripted(403, RESTRICTION_ANSWER))
        every: dict[str, Sender] = {"x": XSender(self.x.api(), shop_user_id=SHOP_USER_ID)}
        if "mastodon" in networks:
            every["mastodon"] = MastodonSender(self.mastodon.api())
        if "bluesky" in networks:
            sender = wiring.sender(self.shop.app)
            assert sender is not None
            every["bluesky"] = sender
        return every

    def dispatch(self, *networks: str) -> DispatchRun:
        """Dispatch until nothing is due (the fallback is queued by the first failure)."""
        senders = self.senders(*networks)
        total = DispatchRun()
        while (run := dispatch_once(self.shop.app, senders)) != DispatchRun():
            total += run
        return total

    def rows(self) -> list[tuple[str, str, str, str]]:
        o = t.outbox
        with self.shop.app.engine.connect() as connection:
            found = connection.execute(
                select(o.c.network, o.c.channel, o.c.status, o.c.dedupe_key).order_by(o.c.id)
            )
            return [(row.network, row.channel, row.status, row.dedupe_key) for row in found]


@pytest.fixture
def rig(database_url: str, pds: ChatPds, server: Server) -> Iterator[Rig]:
    shop = shop_on(
        pds,
        database_url,
        x_shop_handle=SHOP_HANDLE,
        mastodon_url=server.url,
        mastodon_access_token=TOKEN,
    )
    shop.customer(
        SHOPPER_EMAIL,
        (Network.X, SHOPPER_ID, SHOPPER_HANDLE),
        (Network.BLUESKY, ADA, "ada.test"),
        (Network.MASTODON, MAYA_MASTODON, MAYA_ACCT),
    )
    # A reply whose words do not mention the shop: X will refuse to answer it.
    reply = v2_post(REPLY_ID, SHOPPER_ID, "#cart", reply_to=PARENT_ID, hashtags=("cart",))
    shop.ingest([stream_line(reply, v2_shop_post(PARENT_ID))])
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    stand_in = XStandIn(shop.clock.now)
    with LiveServer(stand_in.app) as x_server:
        try:
            yield Rig(shop, ServedStandIn(stand_in, x_server.url), pds, server)
        finally:
            stand_in.release()
            shop.app.engine.dispose()


def test_a_refused_x_reply_goes_by_bluesky_chat(rig: Rig) -> None:
    run = rig.dispatch("bluesky")

    assert run == DispatchRun(sent=1, failed=1, fell_back_to_another_network=1)
    [message] = rig.pds.messages
    assert message["text"].startswith("Added Trailhead Enamel Mug to your cart")
    assert message["text"].endswith(
        f"We could not reply to you on X ({REPLY_RESTRICTED}), so this comes here instead."
    )
    assert [(n, c, s) for n, c, s, _ in rig.rows()] == [
        ("x", "reply", "failed"),
        ("bluesky", "private", "sent"),
    ]
    with rig.shop.app.engine.connect() as connection:
        assert funnel(connection, rig.shop.clock.now()).totals.confirmed_elsewhere == 1


def test_a_refused_x_reply_goes_as_a_mastodon_direct_message_that_mentions_the_shopper(
    rig: Rig,
) -> None:
    run = rig.dispatch("mastodon")

    assert run.fell_back_to_another_network == 1
    [posted] = rig.mastodon.stand_in.posted
    assert posted["visibility"] == "direct"
    # A direct status reaches only whom it mentions.
    assert posted["content"].startswith(f"<p>@{MAYA_ACCT} Added Trailhead Enamel Mug")


def test_the_first_network_the_shop_sends_on_is_chosen(rig: Rig) -> None:
    rig.dispatch("mastodon", "bluesky")

    assert len(rig.mastodon.stand_in.posted) == 1
    assert rig.pds.messages == []


def test_without_another_network_to_send_on_it_goes_by_email(rig: Rig) -> None:
    run = rig.dispatch()

    assert run == DispatchRun(failed=1, fell_back_to_email=1)
    assert [(n, s) for n, _, s, _ in rig.rows()] == [("x", "failed"), ("email", "queued")]


def test_a_shopper_linked_on_x_alone_gets_email(rig: Rig) -> None:
    with rig.shop.app.engine.begin() as connection:
        connection.execute(
            t.account_links.delete().where(t.account_links.c.network != Network.X.value)
        )
    run = rig.dispatch("mastodon", "bluesky")

    assert run == DispatchRun(failed=1, fell_back_to_email=1)


def test_a_refused_fallback_goes_by_email_and_never_back_to_x(rig: Rig) -> None:
    rig.pds.refusals["chat.bsky.convo.getConvoForMembers"] = [
        (400, "MessagesDisabled", "recipient has disabled incoming messages")
    ]
    run = rig.dispatch("bluesky")

    assert run == DispatchRun(failed=2, fell_back_to_another_network=1, fell_back_to_email=1)
    rows = rig.rows()
    assert [(n, s) for n, _, s, _ in rows] == [
        ("x", "failed"),
        ("bluesky", "failed"),
        ("email", "queued"),
    ]
    assert rows[2][3].startswith("email:fallback:")


def test_a_mastodon_link_without_an_address_is_passed_over(rig: Rig) -> None:
    """Constructed: the link's handle could make the direct message mention someone else."""
    with rig.shop.app.engine.begin() as connection:
        connection.execute(
            t.account_links.update()
            .where(t.account_links.c.network == Network.MASTODON.value)
            .values(handle="maya @mallory@evil.example")
        )
    run = rig.dispatch("mastodon", "bluesky")

    assert rig.mastodon.stand_in.posted == []
    assert len(rig.pds.messages) == 1
    assert run.fell_back_to_another_network == 1
