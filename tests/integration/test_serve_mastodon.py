"""`hashcart serve` as a real process with Mastodon configured, against the Mastodon stand-in
on loopback (tests/networks/mastodon/standin.py, replaying the recorded real answers of
../shared/fixtures/mastodon): a mention notification streamed live, whose parent hashcart
never saw, ends as a cart line (the parent looked up through the REST API) and as the shop's
reply posted with an Idempotency-Key, by the listener and dispatcher running beside the web
app from the settings alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
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


def _serve_a_mention(
    tmp_path: Path,
    mastodon: tuple[Server, Case],
    while_serving: Callable[[], None] = lambda: None,
    **settings: str,
) -> str:
    """`hashcart serve` until the shop's reply to a streamed mention is posted, then
    `while_serving`, then SIGTERM; the linked shopper's email."""
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
        **settings,
    )
    try:
        running.wait_for_line("Press Ctrl-C to stop.")
        running.wait_until_serving(port)
        wait_until(lambda: len(server.stand_in.posted) == 1)
        while_serving()
        assert running.terminate() == 0
    finally:
        running.kill()
    return email


def test_serve_streams_a_mention_fills_the_cart_and_replies_on_mastodon(
    tmp_path: Path, mastodon: tuple[Server, Case]
) -> None:
    server, _ = mastodon
    email = _serve_a_mention(tmp_path, mastodon)
    [reply] = server.stand_in.posted
    assert reply["in_reply_to_id"] == "1101"
    assert reply["visibility"] == "unlisted"
    assert "Enamel Mug" in reply["content"]
    [posted] = server.stand_in.requests("/api/v1/statuses", "POST")
    assert len(posted.headers["idempotency-key"]) == 64
    assert server.stand_in.requests("/api/v1/statuses/1100")  # the parent, looked up
    assert Shop(f"sqlite:///{tmp_path / 'cli.db'}").cart(email) == [("mug", 1)]


def scraped(port: int) -> dict[str, float]:
    """A Prometheus endpoint's samples without labels, by name, read over loopback HTTP."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if line and not line.startswith("#") and "{" not in name:
            samples[name] = float(value)
    return samples


def test_serve_counts_what_its_listener_and_dispatcher_did_on_its_metrics_port(
    tmp_path: Path, mastodon: tuple[Server, Case]
) -> None:
    metrics_port = free_port()
    seen: dict[str, float] = {}

    def sent_and_scraped() -> bool:
        seen.update(scraped(metrics_port))
        return seen.get("hashcart_outbox_sent_total") == 1

    _serve_a_mention(
        tmp_path,
        mastodon,
        lambda: wait_until(sent_and_scraped),
        HASHCART_METRICS_PORT=str(metrics_port),
    )
    assert seen["hashcart_posts_consumed_total"] >= 1  # the mention (and its parent, fetched)
    assert seen["hashcart_triggers_total"] == 1
    assert seen["hashcart_cart_lines_total"] == 1
    assert seen["hashcart_outbox_failed_total"] == 0
    assert seen["hashcart_dead_letters_total"] == 0
    assert seen["hashcart_batch_seconds_count"] >= 1
