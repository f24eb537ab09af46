"""The merchant's outbox page after the dispatcher: a failed reply shows why (X's 2026 reply
rule) and that the shopper was emailed instead; a queued retry its attempts and next try."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from hashcart.domain.posts import Network
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.senders import OutboxItem, Sent
from hashcart.web.formatting import when
from tests.outbox.support import PeerNetwork, queue_replies, reply_forbidden, row, server_error
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import assert_inert, parse


@pytest.fixture
def web_shop(tmp_path: Path) -> Iterator[WebShop]:
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}")
    yield shop
    shop.close()


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def test_the_outbox_shows_why_a_reply_failed_and_when_a_retry_is_due(
    web_shop: WebShop, network: PeerNetwork
) -> None:
    web_shop.customer("alice@example.com", (Network.X, "acct0", "shopper0"))
    queue_replies(web_shop.app, 2)  # acct0 is Alice's; acct1 nobody's
    network.peer.answer_next(reply_forbidden(), server_error())
    assert dispatch_once(web_shop.app, {"x": network.sender()}) == DispatchRun(
        retried=1, failed=1, fell_back_to_email=1
    )

    html = merchant(web_shop).get("/merchant/outbox").text

    assert_inert(html)
    table = {cells[0]: cells for cells in parse(html).rows if cells and cells[0].isdigit()}
    failed = row(web_shop.app, "x:x-post-0:added")
    waiting = row(web_shop.app, "x:x-post-1:added")
    failed_cells = table[str(failed.id)]
    assert failed_cells[1].startswith("failed")
    assert "Not sent: X allows replies only where the author mentioned" in failed_cells[5]
    assert "Emailed to the shopper instead." in failed_cells[5]
    waiting_cells = table[str(waiting.id)]
    assert waiting_cells[1] == "queued"
    assert "Last error: x answered 503" in waiting_cells[5]
    assert "Emailed" not in waiting_cells[5]
    assert waiting_cells[6] == "1"  # attempts
    assert f"next try {when(waiting.next_attempt_at)}" in waiting_cells[7]
    # The fallback email is in the outbox too, waiting for an SMTP server.
    [email_cells] = [cells for cells in table.values() if cells[3] == "alice@example.com"]
    assert email_cells[1] == "queued"


def test_a_failure_without_a_linked_shopper_says_nothing_about_email(
    web_shop: WebShop, network: PeerNetwork
) -> None:
    queue_replies(web_shop.app, 1)
    network.peer.answer_next(reply_forbidden())
    dispatch_once(web_shop.app, {"x": network.sender()})

    text = parse(merchant(web_shop).get("/merchant/outbox").text).text

    assert "Not sent: X allows replies only where the author mentioned" in text
    assert "Emailed to the shopper instead." not in text


class _UnseenSender:
    """A network that takes every private message and says it may not be seen (the way the
    Mastodon sender does for a shopper who does not follow the shop: test_private_unseen)."""

    network = "mastodon"

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        return Sent(remote_id=f"status-{item.id}", may_be_unseen="they do not follow the shop")


def test_a_sent_message_that_may_not_be_seen_says_so_as_a_note(web_shop: WebShop) -> None:
    queue_replies(web_shop.app, 1, network=Network.MASTODON, channel="private")
    assert dispatch_once(web_shop.app, {"mastodon": _UnseenSender()}).sent == 1

    html = merchant(web_shop).get("/merchant/outbox").text

    assert_inert(html)
    assert "Note: May not be seen: they do not follow the shop" in parse(html).text
    assert "Last error" not in parse(html).text
