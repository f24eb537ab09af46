"""`hashcart serve` as a real process against a real Bluesky network on loopback (a PLC
directory and a PDS from @atproto/dev-env): its firehose listener and its dispatcher run
beside the web app, so a `#cart` reply posted on the PDS ends as a cart line and as the
shop's confirmation reply on the PDS, with nothing but the settings to wire it."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.cursors import save_cursor
from tests.harness import PRODUCTS, Shop
from tests.integration.test_cli_live import Running, wait_until
from tests.networks.bluesky.peer import BlueskyPeer, reply_texts_to
from tests.smtp_support import free_port

MUG_URL = PRODUCTS["mug"][1]


def test_serve_listens_to_the_firehose_and_answers_on_the_pds(
    tmp_path: Path, bluesky_peer: BlueskyPeer
) -> None:
    brand = bluesky_peer.account("brand")
    shopper = bluesky_peer.account("cleo")
    database = f"sqlite:///{tmp_path / 'cli.db'}"  # where test_cli_live.Running points
    shop = Shop(database)
    shop.customer("cleo@example.com", (Network.BLUESKY, shopper.did, shopper.handle))
    # Start reading the firehose from now, not from the other tests' posts.
    save_cursor(shop.app.engine, "bluesky_firehose", str(bluesky_peer.seq()), shop.clock.now())
    shop.app.engine.dispose()
    settings = {
        "HASHCART_TOKEN_KEY": Fernet.generate_key().decode(),
        "HASHCART_LISTENERS": "bluesky_firehose",
        "HASHCART_BLUESKY_FIREHOSE_URL": bluesky_peer.firehose_url,
        "HASHCART_BLUESKY_PLC_URL": bluesky_peer.plc_url,
        "HASHCART_BLUESKY_PDS_URL": bluesky_peer.pds_url,
        "HASHCART_BLUESKY_IDENTIFIER": brand.handle,
        "HASHCART_BLUESKY_APP_PASSWORD": bluesky_peer.app_password(brand),
    }
    port = free_port()
    server = Running(tmp_path, "serve", "--port", str(port), **settings)
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        assert any("bluesky_firehose" in line for line in server.lines), server.lines
        server.wait_until_serving(port)

        product = bluesky_peer.post(brand, f"Our enamel mug {MUG_URL}", links=(MUG_URL,))
        trigger = bluesky_peer.post(shopper, "#cart", tags=("cart",), reply_to=product)

        wait_until(lambda: shop.cart("cleo@example.com") == [("mug", 1)])
        wait_until(lambda: len(reply_texts_to(bluesky_peer, brand, trigger.uri)) == 1)
        assert server.terminate() == 0
    finally:
        server.kill()
    [reply] = reply_texts_to(bluesky_peer, brand, trigger.uri)
    assert "Enamel Mug" in reply
    with shop.app.engine.connect() as connection:
        sent = connection.execute(select(t.outbox.c.status, t.outbox.c.remote_id)).all()
    assert [(status, bool(remote)) for status, remote in sent] == [("sent", True)]
