"""The outbox's rows as the dispatcher claims and closes them (ports.OutboxRecords), in the
transaction of a unit of work (`uow.outbox`).

A claim marks due rows `sending` with the time it began (`attempt_started_at`), only if they
are still what it read: two dispatchers (two processes, or `serve` beside `dispatch`) never
send one row twice. A row still `sending` long after its claim (the lease) belonged to a
dispatcher that died mid-send; it is claimed again and handed to its sender with the earlier
start, so a network without idempotency keys (X) looks for what it may already have sent. An
email whose SMTP DATA had begun (`delivery_started_at`) cannot be looked for: it is sent again
under the same Message-ID (see `outbox.smtp`).

Every record names the claim it closes (`status = 'sending'` and the claim's start time):
should a send outlast the lease and another dispatcher claim the row again, the late answer
changes nothing rather than undoing the newer claim.

What a network answered (a failure's reason, a post's id, why a message may go unseen) is
made storable before it is written: PostgreSQL refuses NUL in text, and no encoder takes an
unpaired surrogate; a hostile server must not stop the dispatcher."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from hashcart.domain.storable import storable_text
from hashcart.ports import MAY_BE_UNSEEN, LinkedAccount, OutboxItem, Sent
from hashcart.store import schema as t

_o = t.outbox


class StoredOutbox:
    """The outbox of one open transaction (ports.OutboxRecords)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- claims -------------------------------------------------------------------------

    def claim_due(
        self, networks: Collection[str], now: datetime, *, limit: int, lease: timedelta
    ) -> list[OutboxItem]:
        if not networks or limit < 1:
            return []
        due = _due(now, lease)
        # PostgreSQL: rows another dispatcher is claiming right now are skipped, not waited
        # for. SQLite has no row locks; its BEGIN IMMEDIATE (a unit of work that writes) makes
        # claims take turns.
        rows = self.connection.execute(
            select(_o)
            .where(_o.c.network.in_(sorted(networks)), due)
            .order_by(_o.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        claimed = set(
            self.connection.execute(
                update(_o)
                .where(_o.c.id.in_([row.id for row in rows]), due)
                .values(status="sending", attempt_started_at=now)
                .returning(_o.c.id)
            )
            .scalars()
            .all()
        )
        return [_item(row) for row in rows if row.id in claimed]

    def next_due_at(
        self, networks: Collection[str], now: datetime, lease: timedelta
    ) -> datetime | None:
        if not networks:
            return None
        chosen = _o.c.network.in_(sorted(networks))
        waiting = self.connection.execute(
            select(
                func.count().filter(_o.c.next_attempt_at.is_(None)),
                func.min(_o.c.next_attempt_at),
            ).where(chosen, _o.c.status == "queued")
        ).one()
        started = self.connection.execute(
            select(func.min(_o.c.attempt_started_at)).where(chosen, _o.c.status == "sending")
        ).scalar()
        if waiting[0]:
            return now
        found: list[datetime] = []
        retry: datetime | None = waiting[1]
        if retry is not None:
            found.append(retry)
        claimed: datetime | None = started
        if claimed is not None:
            found.append(claimed + lease)  # an abandoned claim falls due when its lease ends
        return max(now, min(found)) if found else None

    def waiting_without_sender(self, networks: Collection[str]) -> dict[str, int]:
        rows = self.connection.execute(
            select(_o.c.network, func.count())
            .where(_o.c.status == "queued", _o.c.network.not_in(sorted(networks)))
            .group_by(_o.c.network)
            .order_by(_o.c.network)
        ).all()
        return {network: int(count) for network, count in rows}

    # --- what became of a claimed row ---------------------------------------------------

    def mark_delivery_started(self, item: OutboxItem, claimed_at: datetime, now: datetime) -> bool:
        return self._close(item, claimed_at, delivery_started_at=now)

    def mark_sent(
        self,
        item: OutboxItem,
        claimed_at: datetime,
        sent: Sent,
        now: datetime,
        *,
        note: str | None = None,
    ) -> bool:
        return self._close(
            item,
            claimed_at,
            status="sent",
            sent_at=now,
            remote_id=_storable(sent.remote_id),
            attempts=item.attempts + 1,
            last_error=_storable(note),
            next_attempt_at=None,
            attempt_started_at=None,
            delivery_started_at=None,
        )

    def mark_retry(
        self,
        item: OutboxItem,
        claimed_at: datetime,
        reason: str,
        retry_at: datetime,
        *,
        end_unknown: bool = False,
    ) -> bool:
        # A clean failure (a lookup the network could not answer, say) settles nothing about
        # an earlier attempt of unknown end: its start stays, so the next attempt still looks
        # before it posts. An attempt that may itself have delivered leaves its own start
        # (the earlier of the two wins) and its delivery mark.
        delivery = {} if end_unknown else {"delivery_started_at": item.delivery_started_at}
        earlier = item.attempt_started_at
        doubt = (earlier or claimed_at) if end_unknown else earlier
        return self._close(
            item,
            claimed_at,
            status="queued",
            attempts=item.attempts + 1,
            last_error=storable_text(reason),
            next_attempt_at=retry_at,
            attempt_started_at=doubt,
            **delivery,
        )

    def mark_failed(self, item: OutboxItem, claimed_at: datetime, reason: str) -> bool:
        return self._close(
            item,
            claimed_at,
            status="failed",
            attempts=item.attempts + 1,
            last_error=storable_text(reason),
            next_attempt_at=None,
            attempt_started_at=None,
            delivery_started_at=None,
        )

    def release(self, item: OutboxItem, claimed_at: datetime, until: datetime) -> bool:
        # An earlier attempt of unknown end stays on record for the next claim.
        return self._close(
            item,
            claimed_at,
            status="queued",
            next_attempt_at=until,
            attempt_started_at=item.attempt_started_at,
        )

    def hold_network(self, network: str, now: datetime, until: datetime) -> int:
        result = self.connection.execute(
            update(_o)
            .where(
                _o.c.network == network,
                _o.c.status == "queued",
                or_(_o.c.next_attempt_at.is_(None), _o.c.next_attempt_at <= now),
            )
            .values(next_attempt_at=until)
        )
        return int(result.rowcount)

    def _close(self, item: OutboxItem, claimed_at: datetime, **values: object) -> bool:
        result = self.connection.execute(
            update(_o)
            .where(
                _o.c.id == item.id, _o.c.status == "sending", _o.c.attempt_started_at == claimed_at
            )
            .values(**values)
        )
        return int(result.rowcount) == 1

    # --- what a message's fallback and its sender need to know ---------------------------

    def linked_email(self, network: str, account_id: str) -> str | None:
        found: str | None = self.connection.scalar(
            select(t.customers.c.email)
            .join(t.account_links, t.account_links.c.customer_id == t.customers.c.id)
            .where(t.account_links.c.network == network, t.account_links.c.account_id == account_id)
        )
        return found

    def earlier_unseen(self, item: OutboxItem) -> bool:
        return bool(
            self.connection.scalar(
                select(
                    exists().where(
                        _o.c.network == item.network,
                        _o.c.account_id == item.account_id,
                        _o.c.channel == "private",
                        _o.c.status == "sent",
                        _o.c.last_error.startswith(MAY_BE_UNSEEN, autoescape=True),
                        _o.c.id != item.id,
                    )
                )
            )
        )

    # --- the shopper's other networks (issue 11: a refused X message goes there first) ---

    def other_links(
        self, network: str, account_id: str, networks: Collection[str]
    ) -> list[LinkedAccount]:
        wanted = sorted(networks)
        if not wanted:
            return []
        mine, theirs = t.account_links.alias("mine"), t.account_links.alias("theirs")
        rows = self.connection.execute(
            select(theirs.c.network, theirs.c.account_id, theirs.c.handle)
            .join(mine, mine.c.customer_id == theirs.c.customer_id)
            .where(
                mine.c.network == network,
                mine.c.account_id == account_id,
                theirs.c.network.in_(wanted),
                theirs.c.network != network,
            )
        ).all()
        return [
            LinkedAccount(str(row.network), str(row.account_id), str(row.handle or ""))
            for row in rows
        ]

    def queue_private(
        self, to: LinkedAccount, *, reason: str, text: str, dedupe_key: str, at: datetime
    ) -> bool:
        if self.connection.scalar(select(exists().where(_o.c.dedupe_key == dedupe_key))):
            return False
        self.connection.execute(
            insert(_o).values(
                network=to.network,
                account_id=to.account_id,
                in_reply_to="",
                reason=reason,
                text=text,
                dedupe_key=dedupe_key,
                channel="private",
                status="queued",
                created_at=at,
            )
        )
        return True


def _storable(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


def _due(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    queued = and_(
        _o.c.status == "queued",
        or_(_o.c.next_attempt_at.is_(None), _o.c.next_attempt_at <= now),
    )
    # No start time at all: claimed by a hashcart older than the dispatcher, then stopped.
    abandoned = and_(
        _o.c.status == "sending",
        or_(_o.c.attempt_started_at.is_(None), _o.c.attempt_started_at < now - lease),
    )
    return or_(queued, abandoned)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        network=row.network,
        channel=row.channel,
        account_id=row.account_id,
        in_reply_to=row.in_reply_to,
        reason=row.reason,
        text=row.text,
        subject=row.subject,
        dedupe_key=row.dedupe_key,
        attempts=row.attempts,
        attempt_started_at=row.attempt_started_at,
        delivery_started_at=row.delivery_started_at,
    )
