"""`hashcart serve` as a real process with Mastodon configured, against the Mastodon stand-in
on loopback (tests/networks/mastodon/standin.py, replaying the recorded real answers of
../shared/fixtures/mastodon): a mention notification streamed live, whose parent hashcart
never saw, ends as a cart line (the parent looked up through the REST API) and as the shop's
reply posted with an Idempotency-Key, by the listener and dispatcher running beside the web
app from the settings alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Shop
from tests.integration.test_cli_live import Running, wait_until
from tests.networks.mastodon.conftest import Case, Server, link_shopper
from tests.networks.mastodon.standin import (
    TOKEN,
    Hold,
    MastodonStandIn,
    Recordings,
    Send,
    serving,
    sse,
)
from tests.smtp_support import free_port


@pytest.fixture
def mastodon(shared_fixtures: Path) -> Iterator[tuple[Server, Case]]:
    recordings = Recordings.load(shared_fixtures)
    stand_in = MastodonStandIn(recordings)
    with serving(stand_in) as (api, streaming):
        yield Server(stand_in, api, streaming), Case(recordings)


def test_serve_streams_a_mention_fills_the_cart_and_replies_on_mastodon(
    tmp_path: Path, mastodon: tuple[Server, Case]
) -> None:
    server, case = mastodon
    shop = Shop(f"sqlite:///{tmp_path / 'cli.db'}")  # where test_cli_live.Running points
    email = link_shopper(shop, "sam")
    shop.app.engine.dispose()
    parent = case.shop_post("1100")
    trigger = case.reply("1101", "1100", "sam")
    server.stand_in.add_status(parent)  # on the server, never streamed to hashcart
    server.stand_in.add_status(trigger)
    server.stand_in.script(
        "notification",
        [Send(":)\n" + sse("notification", json.dumps(case.mention(trigger)))), Hold()],
    )
    port = free_port()
    running = Running(
        tmp_path,
        "serve",
        "--port",
        str(port),
        HASHCART_LISTENERS="mastodon",
        HASHCART_MASTODON_URL=server.url,
        HASHCART_MASTODON_ACCESS_TOKEN=TOKEN,
    )
    try:
        running.wait_for_line("Press Ctrl-C to stop.")
        running.wait_until_serving(port)
        wait_until(lambda: len(server.stand_in.posted) == 1)
        assert running.terminate() == 0
    finally:
        running.kill()
    [reply] = server.stand_in.posted
    assert reply["in_reply_to_id"] == "1101"
    assert reply["visibility"] == "unlisted"
    assert "Enamel Mug" in reply["content"]
    [posted] = server.stand_in.requests("/api/v1/statuses", "POST")
    assert len(posted.headers["idempotency-key"]) == 64
    assert server.stand_in.requests("/api/v1/statuses/1100")  # the parent, looked up
    assert Shop(f"sqlite:///{tmp_path / 'cli.db'}").cart(email) == [("mug", 1)]
