"""Writing down what became of a claimed row, each in its own short unit of work.

Every record names the claim it closes (ports.OutboxRecords): should a send outlast the lease
and another dispatcher claim the row again, the late answer changes nothing rather than
undoing the newer claim, and is logged."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.posts import Network
from hashcart.domain.storable import storable_text
from hashcart.outbox.fallback import queue_fallback_email, queue_other_network_message
from hashcart.ports import OutboxItem, Sent, UnitsOfWork

log = logging.getLogger(__name__)

# Servers can answer with pages of text; the console shows the start.
MAX_REASON_CHARS = 1000


def short(reason: str) -> str:
    """What is kept of a failure's reason (for the console, and for the email sent instead):
    one line, at most MAX_REASON_CHARS, and storable: a server's answer may carry NUL
    characters or undecodable bytes, and must never be what stops the dispatcher."""
    reason = " ".join(storable_text(reason).split())
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def _closed(item: OutboxItem, closed: bool) -> bool:
    if not closed:
        log.warning(
            "outbox %d was claimed again before its send ended; left as it is",
            item.id,
            extra={"network": item.network, "outbox_id": item.id},
        )
    return closed


def record_delivery_started(
    units: UnitsOfWork, item: OutboxItem, claimed_at: datetime, now: datetime
) -> bool:
    """The sender is about to hand the message over where nobody can ask afterwards whether
    it arrived (SMTP's DATA). Committed first, so that a claim after a crash knows the message
    may have gone. False if the row was claimed again meanwhile: it is not ours to send."""
    with units() as uow:
        return _closed(item, uow.outbox.mark_delivery_started(item, claimed_at, now))


def record_sent(
    units: UnitsOfWork,
    item: OutboxItem,
    claimed_at: datetime,
    sent: Sent,
    now: datetime,
    *,
    note: str | None = None,
) -> None:
    """Sent; `note` is kept for the console (the only remarks on a sent row: possibly twice,
    may not be seen)."""
    with units() as uow:
        _closed(item, uow.outbox.mark_sent(item, claimed_at, sent, now, note=note))


def record_retry(
    units: UnitsOfWork,
    item: OutboxItem,
    claimed_at: datetime,
    reason: str,
    retry_at: datetime,
    *,
    end_unknown: bool = False,
) -> None:
    """Back to `queued`, due at `retry_at`. `end_unknown`: the sender broke without saying
    whether the message went, so the next attempt is told when this one began, and a delivery
    mark this attempt wrote stays. Otherwise this attempt surely delivered nothing: the mark
    goes back to what the claim found. Either way an earlier attempt whose end is unknown
    stays on record (its start, the earlier of the two): a clean failure, such as a lookup
    the network could not answer, settles nothing about it, and the next attempt must still
    look before it posts."""
    with units() as uow:
        closed = uow.outbox.mark_retry(
            item, claimed_at, short(reason), retry_at, end_unknown=end_unknown
        )
        _closed(item, closed)


@dataclass(frozen=True)
class Failed:
    """What recording a failure for good did besides."""

    emailed: bool = False  # the message was queued to the shopper's email instead
    # What forgetting the recipient's account removed (for logs); None when not forgotten.
    forgotten: object | None = None
    # the message was queued as a private message on the shopper's other linked network
    # instead (issue 11: a refused X message; then no email)
    another_network: bool = False


def record_failed(
    units: UnitsOfWork,
    item: OutboxItem,
    claimed_at: datetime,
    reason: str,
    shop_name: str,
    now: datetime,
    *,
    other_networks: Collection[str] = (),
    forget_account: bool = False,
) -> Failed:
    """Failed for good with `reason`; a network message goes to the shopper instead: as a
    private message on another of their linked networks among `other_networks` (the ones the
    shop can send on) where the fallback allows it (a refused X message: fallback.py), else
    by email. `forget_account`: the network says the recipient's account is gone, so it is
    forgotten (Repository.forget_network_account) after the fallback, which finds the
    shopper through the link this removes. All in one unit of work: the failure, the message
    sent instead and the forgetting commit together or not at all."""
    why = short(reason)
    with units() as uow:
        if not _closed(item, uow.outbox.mark_failed(item, claimed_at, why)):
            return Failed()
        another_network = emailed = False
        if item.channel != "email":
            another_network = queue_other_network_message(uow, item, why, other_networks, now)
            emailed = not another_network and queue_fallback_email(uow, item, why, shop_name, now)
        if not forget_account:
            return Failed(emailed, another_network=another_network)
        forgotten = uow.repository.forget_network_account(Network(item.network), item.account_id)
        return Failed(emailed, forgotten, another_network)


def release(units: UnitsOfWork, item: OutboxItem, claimed_at: datetime, until: datetime) -> None:
    """Put a claimed row back unsent, due at `until`, its attempts untouched; an earlier
    attempt of unknown end stays on record for the next claim."""
    with units() as uow:
        _closed(item, uow.outbox.release(item, claimed_at, until))


def hold_network(units: UnitsOfWork, network: str, now: datetime, until: datetime) -> int:
    """The network said to wait until `until`: its due rows wait (rate limits are obeyed
    across runs and processes, not only in this one). How many were held back."""
    with units() as uow:
        return uow.outbox.hold_network(network, now, until)
