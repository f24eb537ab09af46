"""The dispatcher: sends what the outbox holds, through each network's sender and SMTP.

A run claims due rows (`claims`), sends each outside any transaction, and records the
outcome (`records`), each step in a unit of work of its own (`uow.outbox`): sent; failed
for good (with the reason, and the message emailed to a linked shopper instead); or queued
again after an exponential backoff with jitter, never before the time a network's
rate-limit answer named. A network that said "wait" is held for the rest of the run and its
due rows are put back until then. Rows of a network with no sender configured stay queued,
untouched, for the console to show.

The senders are given: by the caller, or by the host (`Host.network_senders`, which the
composition root wires to the network registry) plus email over SMTP.

Delivery is at least once. Network senders look for what a crashed attempt may have posted.
Email cannot be looked for: its mark, committed just before SMTP's DATA, says whether a
crashed attempt may have delivered it; such an email is sent again under the same Message-ID
and counted (`possibly_duplicated`) and noted on its row for the console. A crash anywhere
else (before the mark, or after the record of the answer) never sends an email twice."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial

from hashcart.backoff import Backoff
from hashcart.config import Settings
from hashcart.host import Host
from hashcart.outbox.claims import LEASE, claim_due, next_due_at
from hashcart.outbox.email import EmailSender
from hashcart.outbox.fallback import unseen_note, with_earlier_unseen
from hashcart.outbox.records import (
    hold_network,
    record_delivery_started,
    record_failed,
    record_retry,
    record_sent,
    release,
)
from hashcart.outbox.senders import OutboxItem, Sender, SendFailed
from hashcart.ports import EMAIL_NETWORK, UnitsOfWork

log = logging.getLogger(__name__)

# Rows claimed per transaction; a run goes on claiming until `limit` rows are handled.
CLAIM_BATCH = 25
# How often an idle dispatcher looks for new rows (ingest and webhooks queue them).
POLL_SECONDS = 2.0
# The shortest pause between runs, so a row that cannot be claimed never spins the loop.
MIN_PAUSE_SECONDS = 0.1
# After the dispatcher itself fails (the database is away), it waits this way.
TROUBLE_BACKOFF = Backoff(first=1.0, cap=60.0)
# What the console shows on an email sent again after a crash during its SMTP DATA.
POSSIBLY_TWICE = (
    "sent again after an attempt was cut off during delivery: the shopper may have it twice "
    "(same Message-ID, which many mail programs show once)"
)

Wait = Callable[[threading.Event, float], object]


@dataclass
class DispatchRun:
    """What one run did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    fell_back_to_email: int = 0
    # Handed to their sender with the start of an earlier attempt whose end is unknown.
    reconciled: int = 0
    # Emails sent again although an earlier attempt, cut off during SMTP's DATA, may have
    # delivered them (also counted as sent).
    possibly_duplicated: int = 0
    # Due rows put back because their network's rate limit said to wait.
    skipped_rate_limited: int = 0
    # Failed for good and sent instead as a private message on the shopper's other linked
    # network (a refused X reply: outbox/fallback).
    fell_back_to_another_network: int = 0

    @property
    def handled(self) -> int:
        """Rows this run decided on (a reconciled or possibly duplicated row is also sent,
        retried or failed)."""
        return self.sent + self.retried + self.failed + self.skipped_rate_limited

    def counts(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: DispatchRun) -> DispatchRun:
        mine, theirs = self.counts(), other.counts()
        return DispatchRun(**{name: mine[name] + theirs[name] for name in mine})

    def summary(self) -> str:
        """One line for people: what went, what waits, what failed."""
        parts = [f"sent {self.sent}", f"retried {self.retried}", f"failed {self.failed}"]
        if self.fell_back_to_email:
            parts.append(f"emailed instead {self.fell_back_to_email}")
        if self.fell_back_to_another_network:
            parts.append(f"sent on another network instead {self.fell_back_to_another_network}")
        if self.reconciled:
            parts.append(f"checked after a crash {self.reconciled}")
        if self.possibly_duplicated:
            parts.append(f"possibly received twice {self.possibly_duplicated}")
        if self.skipped_rate_limited:
            parts.append(f"held by rate limits {self.skipped_rate_limited}")
        return ", ".join(parts)


def build_senders(app: Host, settings: Settings | None = None) -> dict[str, Sender]:
    """Every sender the settings in force configure, by outbox network: the networks' (as
    the host gives them: each registered network's adapter) and email over SMTP."""
    chosen = settings or app.effective_settings()
    found: dict[str, Sender] = dict(app.network_senders())
    email = EmailSender.of(chosen)
    if email is not None:
        found[email.network] = email
    return found


def dispatch_once(
    app: Host,
    senders: Mapping[str, Sender] | None = None,
    *,
    limit: int = 100,
    rng: random.Random | None = None,
) -> DispatchRun:
    """Send what is due now, up to `limit` rows (including emails that fall back from
    failures in this very run), and say what happened."""
    settings = app.effective_settings()
    chosen = dict(senders) if senders is not None else build_senders(app, settings)
    state = _Run(app, settings, chosen, rng or random.Random())
    try:
        while state.run.handled < limit:
            now = app.clock.now()
            batch = claim_due(
                state.units, chosen, now, limit=min(CLAIM_BATCH, limit - state.run.handled)
            )
            if not batch:
                break
            for item in batch:
                state.handle(item, now)
    finally:
        for sender in chosen.values():
            if isinstance(sender, EmailSender):
                sender.close()
    return state.run


class _Run:
    """One run's state: its counts and which networks are held until when."""

    def __init__(
        self, app: Host, settings: Settings, senders: Mapping[str, Sender], rng: random.Random
    ) -> None:
        self.app = app
        # Each step its own unit of work; lookups between sends only read.
        self.units: UnitsOfWork = app.unit_of_work
        self.reads: UnitsOfWork = _reads(app)
        self.settings = settings
        self.senders = senders
        self.rng = rng
        self.backoff = Backoff(
            settings.dispatch_base_delay_seconds, settings.dispatch_max_delay_seconds, jitter=True
        )
        self.held: dict[str, datetime] = {}
        self.run = DispatchRun()

    def handle(self, item: OutboxItem, claimed_at: datetime) -> None:
        until = self.held.get(item.network)
        if until is not None and until > self.app.clock.now():
            release(self.units, item, claimed_at, until)
            self.run.skipped_rate_limited += 1
            return
        if item.attempt_started_at is not None:
            self.run.reconciled += 1
        sender = self.senders[item.network]
        item = with_earlier_unseen(self.reads, item)
        try:
            if isinstance(sender, EmailSender):
                mark = partial(self._delivery_starts, item, claimed_at)
                sent = sender.send(item, self.app.clock.now(), before_data=mark)
            else:
                sent = sender.send(item, self.app.clock.now())
        except SendFailed as failure:
            self._failed(item, claimed_at, failure, end_unknown=failure.end_unknown)
        except Exception as error:  # a sender's bug must not stop the others, nor lose the row
            log.exception(
                "the %s sender broke on outbox %d", item.network, item.id, extra=_ids(item)
            )
            broke = SendFailed(
                f"the {item.network} sender broke: {type(error).__name__}", permanent=False
            )
            self._failed(item, claimed_at, broke, end_unknown=True)
        else:
            twice = item.delivery_started_at is not None
            note = POSSIBLY_TWICE if twice else unseen_note(sent)
            record_sent(self.units, item, claimed_at, sent, self.app.clock.now(), note=note)
            self.run.sent += 1
            if sent.may_be_unseen:
                log.info(
                    "outbox %d was sent but may not be seen: %s",
                    item.id,
                    sent.may_be_unseen,
                    extra=_ids(item),
                )
            if twice:
                self.run.possibly_duplicated += 1
                log.warning(
                    "outbox %d was sent again and may have arrived twice", item.id, extra=_ids(item)
                )

    def _delivery_starts(self, item: OutboxItem, claimed_at: datetime) -> None:
        """Commit the mark before DATA; a row claimed again meanwhile is not sent."""
        if not record_delivery_started(self.units, item, claimed_at, self.app.clock.now()):
            raise SendFailed("claimed again by another dispatcher before sending", permanent=False)

    def _failed(
        self, item: OutboxItem, claimed_at: datetime, failure: SendFailed, *, end_unknown: bool
    ) -> None:
        now = self.app.clock.now()
        attempts = item.attempts + 1
        if failure.permanent:
            self._give_up(
                item, claimed_at, failure.reason, now, forget_account=failure.account_gone
            )
            return
        if attempts >= self.settings.dispatch_max_attempts:
            self._give_up(
                item, claimed_at, f"gave up after {attempts} attempts: {failure.reason}", now
            )
            return
        retry_at = now + timedelta(seconds=self.backoff.delay(attempts, self.rng))
        if failure.retry_at is not None and failure.retry_at > now:
            retry_at = max(retry_at, failure.retry_at)
            self._hold(item.network, failure.retry_at, now)
        record_retry(
            self.units, item, claimed_at, failure.reason, retry_at, end_unknown=end_unknown
        )
        self.run.retried += 1

    def _give_up(
        self,
        item: OutboxItem,
        claimed_at: datetime,
        reason: str,
        now: datetime,
        *,
        forget_account: bool = False,
    ) -> None:
        recorded = record_failed(
            self.units,
            item,
            claimed_at,
            reason,
            self.settings.shop_name,
            now,
            other_networks=[network for network in self.senders if network != EMAIL_NETWORK],
            forget_account=forget_account,
        )
        if recorded.forgotten is not None:
            log.info(
                "forgot the %s account of outbox %d, gone from its network: %s",
                item.network,
                item.id,
                recorded.forgotten,
                extra=_ids(item),
            )
        self.run.failed += 1
        self.run.fell_back_to_email += int(recorded.emailed)
        self.run.fell_back_to_another_network += int(recorded.another_network)
        # For good: the shopper hears by email if they can, and nobody retries it.
        log.warning("outbox %d (%s) failed: %s", item.id, item.network, reason, extra=_ids(item))

    def _hold(self, network: str, until: datetime, now: datetime) -> None:
        """Obey the network's "not before": nothing more goes to it in this run, and its
        due rows wait in the table too (another dispatcher obeys it as well)."""
        self.held[network] = max(until, self.held.get(network, until))
        self.run.skipped_rate_limited += hold_network(self.units, network, now, until)
        log.info(
            "%s asked us to wait until %s", network, until.isoformat(), extra={"network": network}
        )


def _reads(app: Host) -> UnitsOfWork:
    """Units of work on `app` that only read."""
    return partial(app.unit_of_work, read_only=True)


def _ids(item: OutboxItem) -> dict[str, object]:
    """What a log line about `item` names (hashcart.logs): its network, its row, and the
    trigger post it answers."""
    return {"network": item.network, "outbox_id": item.id, "post_id": item.in_reply_to}


def _wait(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


def run_dispatcher(
    app: Host,
    stop: threading.Event,
    senders: Mapping[str, Sender] | None = None,
    *,
    built_from: Settings | None = None,
    wait: Wait = _wait,
    on_run: Callable[[DispatchRun], object] | None = None,
    limit: int = 100,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Dispatch until `stop` is set: a run, then `wait(stop, seconds)` until the next row
    falls due (at most `poll_seconds`, since new rows arrive unannounced).

    Without `senders`, they are built from the settings in force; senders given with the
    settings they were `built_from` are used likewise. Either way they are built again when
    the merchant changes the settings in the console. Senders given alone are used as they
    are (tests). `on_run` hears of every run (the command prints those that did something)."""
    rebuild = senders is None or built_from is not None
    chosen: Mapping[str, Sender] = senders or {}
    trouble = 0
    while not stop.is_set():
        try:
            if rebuild:
                settings = app.effective_settings()
                if settings != built_from:
                    chosen, built_from = build_senders(app, settings), settings
            run = dispatch_once(app, chosen, limit=limit)
        except Exception:  # the database went away, say: log, wait, try again
            trouble += 1
            pause = TROUBLE_BACKOFF.delay(trouble)
            log.exception("dispatching failed; trying again in %.1f s", pause)
            wait(stop, pause)
            continue
        trouble = 0
        if on_run is not None:
            on_run(run)
        if run.handled >= limit:
            continue  # more is due: no pause
        wait(stop, _pause(app, chosen, poll_seconds))


def _pause(app: Host, senders: Mapping[str, Sender], poll_seconds: float) -> float:
    now = app.clock.now()
    due = next_due_at(_reads(app), senders, now, LEASE)
    if due is None:
        return poll_seconds
    return min(poll_seconds, max(MIN_PAUSE_SECONDS, (due - now).total_seconds()))
