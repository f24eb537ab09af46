"""A worker's parent look-up ends for its caller within its bound, whatever the network does
(hashcart.live_worker.BoundedFetcher). The look-ups here block on an event the test holds,
as a socket that never answers does; tests/bus/test_worker_network.py has the real socket."""

from __future__ import annotations

import threading

import pytest

from hashcart.live_worker import MAX_STUCK_LOOKUPS, BoundedFetcher, Stopping
from hashcart.networks.formats import Format
from hashcart.ports import Fetched, FetchFailed

BOUND = 0.05  # seconds: the caller's whole wait for a look-up that never ends


class Held:
    """A look-up that answers only once `release` is set, or raises `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.release = threading.Event()
        self.error = error
        self.started = threading.Semaphore(0)

    def fetch(self, post_id: str) -> Fetched:
        self.started.release()
        if self.error is not None:
            raise self.error
        self.release.wait(30)
        return Fetched(Format.MASTODON, (post_id.encode(),))


def bounded(inner: Held, stopping: threading.Event | None = None) -> BoundedFetcher:
    slots = threading.Semaphore(MAX_STUCK_LOOKUPS)
    return BoundedFetcher(inner, BOUND, slots, stopping or threading.Event())


def test_an_answer_in_time_is_handed_on() -> None:
    held = Held()
    held.release.set()
    assert bounded(held).fetch("1100").lines == (b"1100",)


def test_a_look_up_that_never_answers_fails_after_the_bound() -> None:
    held = Held()
    with pytest.raises(FetchFailed, match=r"no answer in 0\.05 s"):
        bounded(held).fetch("1100")
    held.release.set()


def test_when_every_slot_waits_on_the_network_a_look_up_fails_at_once() -> None:
    held = Held()
    fetcher = bounded(held)
    for _ in range(MAX_STUCK_LOOKUPS):
        with pytest.raises(FetchFailed):
            fetcher.fetch("1100")
    with pytest.raises(FetchFailed, match="still waiting"):
        fetcher.fetch("1200")
    assert [held.started.acquire(timeout=5) for _ in range(MAX_STUCK_LOOKUPS)] == [True] * 4
    assert not held.started.acquire(blocking=False)  # the fifth never reached the network
    held.release.set()


def test_a_failure_the_fetcher_did_not_foresee_is_a_failed_look_up() -> None:
    with pytest.raises(FetchFailed, match="KeyError"):
        bounded(Held(KeyError("data"))).fetch("1100")
    with pytest.raises(FetchFailed, match="429"):
        bounded(Held(FetchFailed("429 from the API"))).fetch("1100")


def test_a_worker_that_stops_does_not_wait_and_counts_no_failure() -> None:
    held, stopping = Held(), threading.Event()
    stopping.set()
    fetcher = BoundedFetcher(held, 30.0, threading.Semaphore(1), stopping)
    with pytest.raises(Stopping):
        fetcher.fetch("1100")
    held.release.set()
