"""Writing down what became of a claimed row, each in its own short transaction.

Every update names the claim it closes (`status = 'sending'` and the claim's start time):
should a send outlast the lease and another dispatcher claim the row again, the late answer
changes nothing rather than undoing the newer claim."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, Engine, or_, update

from hashcart.outbox.fallback import queue_fallback_email, queue_other_network_message
from hashcart.outbox.senders import OutboxItem, Sent
from hashcart.store import schema as t

log = logging.getLogger(__name__)

_o = t.outbox
# How a message that failed for good still reached its shopper (None: it did not).
FellBack = Literal["email", "another_network"] | None
# Servers can answer with pages of text; the console shows the start.
MAX_REASON_CHARS = 1000


def short(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def _close(
    connection: Connection, item: OutboxItem, claimed_at: datetime, **values: object
) -> bool:
    result = connection.execute(
        update(_o)
        .where(_o.c.id == item.id, _o.c.status == "sending", _o.c.attempt_started_at == claimed_at)
        .values(**values)
    )
    if result.rowcount != 1:
        log.warning(
            "outbox %d was claimed again before its send ended; left as it is",
            item.id,
            extra={"network": item.network, "outbox_id": item.id},
        )
        return False
    return True


def record_delivery_started(
    engine: Engine, item: OutboxItem, claimed_at: datetime, now: datetime
) -> bool:
    """The sender is about to hand the message over where nobody can ask afterwards whether
    it arrived (SMTP's DATA). Committed first, so that a claim after a crash knows the message
    may have gone. False if the row was claimed again meanwhile: it is not ours to send."""
    with engine.begin() as connection:
        return _close(connection, item, claimed_at, delivery_started_at=now)


def record_sent(
    engine: Engine,
    item: OutboxItem,
    claimed_at: datetime,
    sent: Sent,
    now: datetime,
    *,
    note: str | None = None,
) -> None:
    """Sent; `note` is kept for the console (the only remark on a sent row: possibly twice)."""
    with engine.begin() as connection:
        _close(
            connection,
            item,
            claimed_at,
            status="sent",
            sent_at=now,
            remote_id=sent.remote_id,
            attempts=item.attempts + 1,
            last_error=note,
            next_attempt_at=None,
            attempt_started_at=None,
            delivery_started_at=None,
        )


def record_retry(
    engine: Engine,
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
    delivery = {} if end_unknown else {"delivery_started_at": item.delivery_started_at}
    earlier = item.attempt_started_at
    doubt = (earlier or claimed_at) if end_unknown else earlier
    with engine.begin() as connection:
        _close(
            connection,
            item,
            claimed_at,
            status="queued",
            attempts=item.attempts + 1,
            last_error=short(reason),
            next_attempt_at=retry_at,
            attempt_started_at=doubt,
            **delivery,
        )


def record_failed(
    engine: Engine,
    item: OutboxItem,
    claimed_at: datetime,
    reason: str,
    shop_name: str,
    now: datetime,
    other_networks: Collection[str] = (),
) -> FellBack:
    """Failed for good with `reason`; a network message goes to the shopper instead (same
    transaction): by a private message on another of their linked networks among
    `other_networks` where the fallback allows (fallback.py), else by email. Which of the
    two was queued, if one was."""
    with engine.begin() as connection:
        closed = _close(
            connection,
            item,
            claimed_at,
            status="failed",
            attempts=item.attempts + 1,
            last_error=short(reason),
            next_attempt_at=None,
            attempt_started_at=None,
            delivery_started_at=None,
        )
        if not closed or item.channel == "email":
            return None
        why = short(reason)
        if queue_other_network_message(connection, item, why, other_networks, now):
            return "another_network"
        return "email" if queue_fallback_email(connection, item, why, shop_name, now) else None


def release(engine: Engine, item: OutboxItem, claimed_at: datetime, until: datetime) -> None:
    """Put a claimed row back unsent, due at `until`, its attempts untouched; an earlier
    attempt of unknown end stays on record for the next claim."""
    with engine.begin() as connection:
        _close(
            connection,
            item,
            claimed_at,
            status="queued",
            next_attempt_at=until,
            attempt_started_at=item.attempt_started_at,
        )


def hold_network(engine: Engine, network: str, now: datetime, until: datetime) -> int:
    """The network said to wait until `until`: its due rows wait (rate limits are obeyed
    across runs and processes, not only in this one). How many were held back."""
    with engine.begin() as connection:
        result = connection.execute(
            update(_o)
            .where(
                _o.c.network == network,
                _o.c.status == "queued",
                or_(_o.c.next_attempt_at.is_(None), _o.c.next_attempt_at <= now),
            )
            .values(next_attempt_at=until)
        )
    return int(result.rowcount)
