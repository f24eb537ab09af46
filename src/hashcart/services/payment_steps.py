"""The capture or void hashcart owes a gateway after an authorisation, asked until it is done.

A capture is owed from the moment its order commits (the order's transaction records it), a
void from the moment checkout decides the order cannot be placed. The request asks the
gateway once at once; when the gateway refuses, or the answer is lost (a timeout, a crash),
the step stays owed and the payment sweep asks again: `hashcart serve` runs one every
minute, and `hashcart payments retry` runs one for an operator or a cron job. Every attempt
sends the same authorisation under the same idempotency key (the checkout key), which a
gateway answers with the same outcome, so asking again never moves money twice. After
MAX_STEP_ATTEMPTS attempts the sweep stops asking; the console's home page lists the step
with the gateway's last answer, and `hashcart payments retry --restart-stopped` starts over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hashcart.ports import Clock, PaymentGateway, PaymentRecord, PaymentStepName, UnitsOfWork
from hashcart.services.beats import Beat

log = logging.getLogger(__name__)

# Attempts in all, the request's own included; then the sweep stops and a person looks.
MAX_STEP_ATTEMPTS = 5
# The wait before attempt 2, 3, 4 and 5: quick for a blip, then long enough for an outage.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
# The request asks first: the sweep leaves a freshly owed step alone this long.
REQUEST_GRACE = timedelta(minutes=2)
# An attempt the sweep took is not taken by another sweep for this long (a slow gateway).
CLAIM_FOR = timedelta(minutes=5)
# How often `hashcart serve` sweeps, and how many steps one sweep asks about at most.
SWEEP_EVERY_SECONDS = 60.0
SWEEP_BATCH = 100

GatewayFinder = Callable[[str], PaymentGateway | None]


# The gateway's answer is kept for the console; a gateway (or its exception) may say a lot.
KEPT_CHARS = 2000


def kept_text(answer: str) -> str:
    """A gateway's answer as the record keeps it: bounded, and without NUL characters
    (PostgreSQL's text refuses them, and the failure must be recorded all the same)."""
    return answer.replace("\x00", "\ufffd")[:KEPT_CHARS]


def next_attempt_at(attempts: int, now: datetime) -> datetime | None:
    """When to ask again after `attempts` failed attempts; None once they are all used."""
    if attempts >= MAX_STEP_ATTEMPTS:
        return None
    return now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def attempt(
    units: UnitsOfWork,
    gateway: PaymentGateway,
    record: PaymentRecord,
    step: PaymentStepName,
    now: datetime,
) -> bool:
    """Ask the gateway for `step` on the record's authorisation, outside any transaction,
    and record the outcome: True when the gateway did it. A refusal or an unknown outcome
    counts an attempt and leaves the step owed (see the module's docstring)."""
    key = record.checkout_key
    try:
        answer = (
            gateway.capture(record.authorised)
            if step == "capture"
            else gateway.void(record.authorised)
        )
    except Exception as error:
        # state is unknown: the step stays owed and is asked again under the same key.
        log.warning("%s failed for checkout %s", step, key, exc_info=True)
        failure = f"{step} failed, its outcome unknown: {type(error).__name__}: {error}"
    else:
        if answer.done:
            with units() as uow:
                moved = uow.payments.move(
                    key,
                    expected={"authorised"},
                    to="captured" if step == "capture" else "voided",
                    now=now,
                )
            return moved or step == "void"
        failure = f"{step} refused: {answer.message}"
    failure = kept_text(failure)
    with units() as uow:
        current = uow.payments.find(key)
        attempts = (current.step_attempts if current else record.step_attempts) + 1
        retry_at = next_attempt_at(attempts, now)
        uow.payments.step_failed(key, step, failure, now, retry_at)
    if retry_at is None:
        log.warning(
            "%s for checkout %s stopped after %d attempts: %s", step, key, attempts, failure
        )
    else:
        log.warning("%s for checkout %s not done (attempt %d): %s", step, key, attempts, failure)
    return False


@dataclass(frozen=True)
class StepOutcome:
    """One owed step the sweep asked about, for the command's report and logs."""

    checkout_key: str
    order_id: int | None
    step: PaymentStepName
    done: bool
    attempts: int  # the attempts that failed so far
    stopped: bool
    message: str


def retry_owed_steps(
    units: UnitsOfWork, gateway_for: GatewayFinder, now: datetime, limit: int = SWEEP_BATCH
) -> list[StepOutcome]:
    """Ask again every owed capture and void that is due, each once (the sweep)."""
    with units() as uow:
        due = uow.payments.steps_due(now, limit)
    outcomes = []
    for record in due:
        step = record.pending_step
        assert step is not None  # steps_due returns owed steps only
        with units() as uow:
            if not uow.payments.claim_step(record.checkout_key, now, now + CLAIM_FOR):
                continue  # another sweep took it, or the request finished it
        gateway = gateway_for(record.gateway)
        if gateway is None:
            done = False
            with units() as uow:
                attempts = record.step_attempts + 1
                uow.payments.step_failed(
                    record.checkout_key,
                    step,
                    f"{step} not asked: the gateway {record.gateway!r} is not available",
                    now,
                    next_attempt_at(attempts, now),
                )
        else:
            done = attempt(units, gateway, record, step, now)
        with units() as uow:
            after = uow.payments.find(record.checkout_key)
        assert after is not None
        outcomes.append(
            StepOutcome(
                checkout_key=record.checkout_key,
                order_id=after.order_id,
                step=step,
                done=done,
                attempts=after.step_attempts,
                stopped=after.step_stopped,
                message="" if done else after.last_error or "",
            )
        )
    return outcomes


class PaymentSweep(Beat):
    """The sweep in a daemon thread, every SWEEP_EVERY_SECONDS (`hashcart serve`)."""

    name = "hashcart-payments"
    failure = "the payment sweep failed; it runs again in %.0f s"

    def __init__(
        self,
        units: UnitsOfWork,
        clock: Clock,
        gateway_for: GatewayFinder,
        every: float = SWEEP_EVERY_SECONDS,
        also: Callable[[datetime], object] | None = None,
    ) -> None:
        super().__init__(every)
        self.units = units
        self.clock = clock
        self.gateway_for = gateway_for
        # Another owed-step sweep run on the same beat (services/saved_cards' clean-ups; and
        # `serve` pays for confirmed buys with a post here, App.settle_buys).
        self.also = also

    def describe(self) -> str:
        """Its line in `hashcart serve`'s banner."""
        return f"  payments:         owed captures and voids asked again every {self.every:.0f} s"

    def beat(self) -> None:
        retry_owed_steps(self.units, self.gateway_for, self.clock.now())
        if self.also is not None:
            self.also(self.clock.now())
