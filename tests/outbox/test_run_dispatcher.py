"""The dispatcher's loop: after each run it waits (the injected wait moves the FixedClock
instead of sleeping) until the next row falls due, never longer than the poll interval."""

from __future__ import annotations

import threading
from datetime import timedelta

from hashcart.outbox.dispatcher import POLL_SECONDS, DispatchRun, run_dispatcher
from tests.harness import Shop
from tests.outbox.support import PeerNetwork, queue_replies, rate_limited, row, server_error

FIRST = "x:x-post-0:added"


def test_the_loop_waits_for_the_retry_then_sends_it(shop: Shop, network: PeerNetwork) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(server_error())
    stop = threading.Event()
    waits: list[float] = []
    runs: list[DispatchRun] = []

    def wait(event: threading.Event, seconds: float) -> None:
        waits.append(seconds)
        shop.clock.advance(timedelta(seconds=seconds))
        if len(runs) >= 3:
            event.set()

    started = shop.clock.now()
    run_dispatcher(shop.app, stop, {"x": network.sender()}, wait=wait, on_run=runs.append)

    assert runs == [DispatchRun(retried=1), DispatchRun(sent=1), DispatchRun()]
    sent = row(shop.app, FIRST)
    assert sent.status == "sent"
    # The first pause lasted exactly until the retry was due; then the poll interval.
    assert sent.sent_at == started + timedelta(seconds=waits[0])
    assert 0 < waits[0] <= shop.app.settings.dispatch_base_delay_seconds
    assert waits[1:] == [POLL_SECONDS, POLL_SECONDS]


def test_a_far_retry_still_lets_the_loop_look_for_new_messages(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(rate_limited(shop.clock.now() + timedelta(minutes=15)))
    stop = threading.Event()
    waits: list[float] = []

    def wait(event: threading.Event, seconds: float) -> None:
        waits.append(seconds)
        event.set()

    run_dispatcher(shop.app, stop, {"x": network.sender()}, wait=wait)

    assert waits == [POLL_SECONDS]  # not 15 minutes: new rows arrive unannounced
    assert len(network.peer.requests) == 1


def test_a_set_stop_ends_the_loop_before_anything_is_sent(shop: Shop, network: PeerNetwork) -> None:
    queue_replies(shop.app, 1)
    stop = threading.Event()
    stop.set()

    run_dispatcher(shop.app, stop, {"x": network.sender()})

    assert network.peer.requests == []
    assert row(shop.app, FIRST).status == "queued"
