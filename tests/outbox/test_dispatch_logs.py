"""What the dispatcher logs when a message fails for good, as `hashcart serve` and
`hashcart dispatch` configure logging (hashcart.logs): one line, at WARNING, naming the
network, the outbox row and the trigger post, in JSON or in text.

The network is the loopback stand-in (tests.outbox.support); the shop is on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hashcart.logs import configure_logging
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from tests.harness import Shop
from tests.outbox.support import PeerNetwork, queue_replies, reply_forbidden, row

FIRST = "x:x-post-0:added"  # the dedupe key of the first queued reply


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Where configure_logging writes during the test; logging is put back afterwards."""
    root = logging.getLogger()
    hashcart = logging.getLogger("hashcart")
    saved = (list(root.handlers), root.level, hashcart.level)
    stream = io.StringIO()
    yield stream
    for handler in root.handlers[:]:
        if handler not in saved[0]:
            root.removeHandler(handler)
    root.setLevel(saved[1])
    hashcart.setLevel(saved[2])


def fail_one_for_good(shop: Shop, network: PeerNetwork) -> int:
    """Queue one reply that the network refuses for good; dispatch; the row's id."""
    queue_replies(shop.app, 1)
    network.peer.answer_next(reply_forbidden())
    assert dispatch_once(shop.app, {"x": network.sender()}) == DispatchRun(failed=1)
    failed = row(shop.app, FIRST)
    assert failed.status == "failed"
    return int(failed.id)


def test_a_message_failed_for_good_is_one_json_line_at_warning_with_its_ids(
    shop: Shop, network: PeerNetwork, log_stream: io.StringIO
) -> None:
    configure_logging("json", "INFO", stream=log_stream)

    outbox_id = fail_one_for_good(shop, network)

    lines = log_stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    [failure] = [entry for entry in entries if entry["level"] == "WARNING"]
    assert failure["logger"] == "hashcart.outbox.dispatcher"
    assert failure["network"] == "x"
    assert failure["outbox_id"] == outbox_id
    assert failure["post_id"] == "x-post-0"
    assert failure["message"].startswith(f"outbox {outbox_id} (x) failed: X allows replies only")
    assert failure["time"].endswith("+00:00")


def test_a_message_failed_for_good_is_one_text_line_at_warning_with_its_ids(
    shop: Shop, network: PeerNetwork, log_stream: io.StringIO
) -> None:
    configure_logging("text", "INFO", stream=log_stream)

    outbox_id = fail_one_for_good(shop, network)

    [failure] = [line for line in log_stream.getvalue().splitlines() if " WARNING " in line]
    assert f" WARNING hashcart.outbox.dispatcher: outbox {outbox_id} (x) failed: " in failure
    assert failure.endswith(f" network=x post_id=x-post-0 outbox_id={outbox_id}")


def test_below_the_configured_level_nothing_is_written(
    shop: Shop, network: PeerNetwork, log_stream: io.StringIO
) -> None:
    configure_logging("json", "ERROR", stream=log_stream)

    fail_one_for_good(shop, network)

    assert log_stream.getvalue() == ""
