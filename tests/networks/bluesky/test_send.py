"""The Bluesky sender against a real PDS on loopback: replies in the shopper's thread, written
once however often they are sent, and the shop's session kept sealed across restarts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.send import BlueskySender
from hashcart.networks.bluesky.session import Session, ShopSession
from hashcart.networks.bluesky.tid import is_tid
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.outbox.senders import OutboxItem, SendFailed
from hashcart.secretbox import SecretBox
from hashcart.store import schema as t
from hashcart.store.network_sessions import StoredSessions
from tests.harness import Shop
from tests.networks.bluesky.conftest import TOKEN_KEY
from tests.networks.bluesky.peer import Account, BlueskyPeer, Posted, reply_texts_to


@dataclass
class Desk:
    """A shop whose Bluesky account answers a shopper's `#cart` reply."""

    peer: BlueskyPeer
    shop: Shop
    brand: Account
    app_password: str
    shopper: Account
    trigger: Posted

    def sender(self, password: str | None = None) -> BlueskySender:
        if password is None:
            sender = wiring.sender(self.shop.app)
            assert isinstance(sender, BlueskySender)
            return sender
        settings = self.shop.app.settings
        xrpc = Xrpc(new_client())
        identity = IdentityResolver(xrpc, settings.bluesky_plc_url, self.shop.clock)
        session = ShopSession(
            StoredSessions(self.shop.app.engine, self.shop.clock),
            xrpc,
            self.shop.clock,
            pds_url=settings.bluesky_pds_url,
            identifier=self.brand.handle,
            password=password,
            box=SecretBox.of(settings),
        )
        return BlueskySender(session, RecordReader(identity, xrpc), identity, xrpc)

    def item(self, **changes: object) -> OutboxItem:
        item = OutboxItem(
            id=1,
            network="bluesky",
            channel="reply",
            account_id=self.shopper.did,
            in_reply_to=self.trigger.uri,
            reason="added",
            text="Added Trailhead Enamel Mug to your cart.",
            subject=None,
            dedupe_key=f"added:{self.trigger.uri}",
            attempts=0,
        )
        return replace(item, **changes)  # type: ignore[arg-type]

    def replies(self) -> list[str]:
        return reply_texts_to(self.peer, self.brand, self.trigger.uri)

    def stored_session(self) -> Session:
        box = SecretBox(TOKEN_KEY)
        with self.shop.app.engine.connect() as connection:
            [sealed] = connection.execute(select(t.network_sessions.c.secret_data)).scalars()
        stored = box.open(sealed)
        return Session(
            stored["did"],
            stored["handle"],
            stored["service"],
            stored["access_jwt"],
            stored["refresh_jwt"],
        )

    def store_session(self, session: Session) -> None:
        sealed = SecretBox(TOKEN_KEY).seal(
            {
                "did": session.did,
                "handle": session.handle,
                "service": session.service,
                "access_jwt": session.access_jwt,
                "refresh_jwt": session.refresh_jwt,
            }
        )
        with self.shop.app.engine.begin() as connection:
            connection.execute(t.network_sessions.update().values(secret_data=sealed))


@pytest.fixture
def desk(bluesky_peer: BlueskyPeer, tmp_path: Path) -> Desk:
    brand = bluesky_peer.account("northwind")
    shopper = bluesky_peer.account("ada")
    password = bluesky_peer.app_password(brand)
    shop = Shop(
        f"sqlite:///{tmp_path / 'hashcart.db'}",
        token_key=TOKEN_KEY,
        bluesky_plc_url=bluesky_peer.plc_url,
        bluesky_pds_url=bluesky_peer.pds_url,
        bluesky_identifier=brand.handle,
        bluesky_app_password=password,
    )
    product = bluesky_peer.post(brand, "Our mug https://shop.example/products/enamel-mug")
    trigger = bluesky_peer.post(shopper, "#cart", tags=("cart",), reply_to=product)
    return Desk(bluesky_peer, shop, brand, password, shopper, trigger)


def test_a_reply_goes_into_the_shoppers_thread_under_a_key_derived_from_the_message(
    desk: Desk,
) -> None:
    sent = desk.sender().send(desk.item(), desk.shop.clock.now())

    assert sent.remote_id is not None
    record = desk.peer.record(sent.remote_id)
    assert record["value"]["text"] == "Added Trailhead Enamel Mug to your cart."
    assert record["value"]["reply"]["parent"] == desk.trigger.ref()
    assert is_tid(sent.remote_id.rsplit("/", 1)[1])


def test_sending_the_same_message_again_writes_no_second_reply(desk: Desk) -> None:
    sender = desk.sender()
    first = sender.send(desk.item(), desk.shop.clock.now())
    # A retry that knows an attempt went before, and one that does not (the PDS refuses a
    # second record at the same key; the sender finds the first one there).
    after_crash = sender.send(desk.item(attempts=1), desk.shop.clock.now())
    blind = sender.send(desk.item(), desk.shop.clock.now())

    assert first.remote_id == after_crash.remote_id == blind.remote_id
    assert desk.replies() == ["Added Trailhead Enamel Mug to your cart."]


def test_another_message_gets_its_own_reply(desk: Desk) -> None:
    sender = desk.sender()
    sender.send(desk.item(), desk.shop.clock.now())
    sender.send(
        desk.item(dedupe_key="already:1", text="Already in your cart."), desk.shop.clock.now()
    )

    assert sorted(desk.replies()) == [
        "Added Trailhead Enamel Mug to your cart.",
        "Already in your cart.",
    ]


def test_the_leading_mention_and_links_become_facets(desk: Desk) -> None:
    text = f"@{desk.shopper.handle} Added: see https://shop.example/cart."
    sent = desk.sender().send(desk.item(text=text), desk.shop.clock.now())

    assert sent.remote_id is not None
    facets = desk.peer.record(sent.remote_id)["value"]["facets"]
    encoded = text.encode()
    spans = {
        feature["$type"].rsplit("#", 1)[1]: (
            encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode(),
            feature.get("did") or feature.get("uri"),
        )
        for facet in facets
        for feature in facet["features"]
    }
    assert spans == {
        "mention": (f"@{desk.shopper.handle}", desk.shopper.did),
        "link": ("https://shop.example/cart", "https://shop.example/cart"),
    }


def test_a_reply_to_a_deleted_post_fails_for_good(desk: Desk) -> None:
    desk.peer.delete(desk.shopper, desk.trigger)

    with pytest.raises(SendFailed) as failed:
        desk.sender().send(desk.item(), desk.shop.clock.now())

    assert failed.value.permanent
    assert "no longer exists" in failed.value.reason


def test_the_session_is_kept_sealed_and_a_restart_does_not_log_in_again(desk: Desk) -> None:
    desk.sender().send(desk.item(), desk.shop.clock.now())
    stored = desk.stored_session()
    with desk.shop.app.engine.connect() as connection:
        [raw] = connection.execute(select(t.network_sessions.c.secret_data)).scalars()
    assert stored.access_jwt not in raw and stored.refresh_jwt not in raw

    # A restarted hashcart whose password no longer works still sends: it never logs in.
    restarted = desk.sender(password="not-the-app-password")
    restarted.send(desk.item(dedupe_key="second"), desk.shop.clock.now())

    assert len(desk.replies()) == 2
    assert desk.stored_session() == stored


def test_an_access_token_about_to_expire_is_refreshed_first(desk: Desk) -> None:
    sender = desk.sender()
    sender.send(desk.item(), desk.shop.clock.now())
    before = desk.stored_session()
    expires = before.access_expires_at()
    assert expires is not None
    desk.shop.clock.advance(expires - desk.shop.clock.now())

    sender.send(desk.item(dedupe_key="later"), desk.shop.clock.now())

    after = desk.stored_session()
    assert after.refresh_jwt != before.refresh_jwt
    assert len(desk.replies()) == 2


def test_a_refused_access_token_is_renewed_once(desk: Desk) -> None:
    desk.sender().send(desk.item(), desk.shop.clock.now())
    stale = replace(desk.stored_session(), access_jwt="not.a.token")
    desk.store_session(stale)

    desk.sender().send(desk.item(dedupe_key="again"), desk.shop.clock.now())

    assert len(desk.replies()) == 2
    assert desk.stored_session().access_jwt != "not.a.token"


def test_a_wrong_app_password_fails_for_good(desk: Desk) -> None:
    with pytest.raises(SendFailed) as failed:
        desk.sender(password="wrong-password").send(desk.item(), desk.shop.clock.now())

    assert failed.value.permanent
    assert "wrong-password" not in failed.value.reason
    assert desk.replies() == []


def test_the_access_token_is_refreshed_a_minute_before_expiry(desk: Desk) -> None:
    desk.sender().send(desk.item(), desk.shop.clock.now())
    session = desk.stored_session()
    expires = session.access_expires_at()
    assert expires is not None
    desk.shop.clock.advance(expires - desk.shop.clock.now() - timedelta(minutes=2))

    desk.sender().send(desk.item(dedupe_key="early"), desk.shop.clock.now())

    assert desk.stored_session() == session  # two minutes left: still used as it is
