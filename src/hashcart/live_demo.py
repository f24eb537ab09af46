"""The live demo: the demo stream fed into the engine a beat at a time while the web app
serves it, so a newcomer watches carts fill and the funnel move.

`LiveFeeder.step()` does one beat (tests call it directly, no waiting); `LiveDemo` calls it
on a timer in a background thread and stops cleanly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from types import TracebackType

from hashcart.bootstrap import App
from hashcart.demo import DEMO_HOST, buy_with_a_post, link_shopper
from hashcart.demo_offer import DEMO_OFFER_TAG
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.linking import LinkError
from hashcart.synthetic.live import LiveStream

log = logging.getLogger(__name__)

LIVE_SOURCE = "live demo stream"
DEFAULT_INTERVAL = 0.75  # seconds between beats: a few posts a second, readable on a chart
# A buy with a post (issue 12) every this many beats, starting at the BUY_FIRST-th: a demo
# shopper replies `#buy` under a new brand post and confirms with the code answered.
BUY_EVERY = 40
BUY_FIRST = 3


@dataclass
class StepReport:
    """What one beat did."""

    post_ids: list[str]
    linked: list[str]  # emails of the shoppers who linked their accounts
    stats: IngestStats


@dataclass
class LiveTotals:
    steps: int = 0
    posts: int = 0
    linked: int = 0
    lines_added: int = 0
    bought: int = 0  # orders bought with a post
    errors: int = 0
    last_error: str = field(default="")


class LiveFeeder:
    """Feeds the live demo stream into `app`'s engine, one beat per `step()`.

    Posts are stamped with the app's clock, so a test moves a FixedClock and the served demo
    uses the real time.
    """

    def __init__(self, app: App, stream: LiveStream | None = None) -> None:
        self.app = app
        # Linked shoppers post the demo's offer tag now and then (issue 12, offers).
        self.stream = stream or LiveStream(host=DEMO_HOST, offer_tags=(DEMO_OFFER_TAG,))
        self.totals = LiveTotals()

    def step(self) -> StepReport:
        beat = self.stream.beat(self.app.clock.now())
        # The shop is re-read every beat: the merchant may change prices, stock or tags live.
        ingestor = Ingestor(
            self.app.unit_of_work,
            self.app.shop(),
            self.app.clock,
            reader=self.app.payload_reader,
            settle_buys=self.app.settle_buys,
        )
        ingestor.ingest_lines(LIVE_SOURCE, beat.lines)
        linked = []
        for shopper in beat.links:
            try:
                result = link_shopper(self.app, shopper)
            except LinkError as error:  # e.g. the account is someone else's: skip this fan
                log.warning("live demo: %s not linked: %s", shopper.email, error)
                continue
            linked.append(shopper.email)
            self.totals.lines_added += result.applied  # their waiting requests, now in lists
        if self.totals.steps % BUY_EVERY == BUY_FIRST - 1:
            bought = buy_with_a_post(self.app, seed=self.totals.steps)
            self.totals.bought += bought.order_id is not None
        self.totals.steps += 1
        self.totals.posts += len(beat.post_ids)
        self.totals.linked += len(linked)
        self.totals.lines_added += ingestor.stats.actions.lines_added
        return StepReport(beat.post_ids, linked, ingestor.stats)


class LiveDemo:
    """Runs `feeder.step()` every `interval` seconds in a daemon thread until stopped."""

    def __init__(self, feeder: LiveFeeder, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.feeder = feeder
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hashcart-live-demo", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for the beat in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.feeder.step()
            except Exception as error:  # one bad beat (a locked database) must not end the demo
                self.feeder.totals.errors += 1
                self.feeder.totals.last_error = str(error)
                log.warning("live demo: a beat failed: %s", error)

    def __enter__(self) -> LiveDemo:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
