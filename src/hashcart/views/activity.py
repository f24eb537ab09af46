"""Triggers and cart adds per minute, for the live view of a campaign or a live sale.

Which time is which:
- a trigger counts in the minute its post was made (`posts.created_at`, the network's own
  time of the reply): that is when the shopper acted, whether we read the reply at once or a
  little later, and replaying an old file does not pretend the replies came now;
- a cart add counts in the minute the line was written (`cart_lines.created_at`, our clock):
  that is when the cart changed, including lines made when an account linked later and lines
  added on the web. A line removed or checked out since is no longer there to count.

Buckets are computed in Python from the rows of the window (two small queries, the same on
SQLite and PostgreSQL); minutes without activity are zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, or_, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.shoppable import shoppable_conditions
from hashcart.store.shopping import WEB_NETWORK, web_source

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Bucket:
    start: datetime  # the minute, UTC
    triggers: int
    cart_adds: int


@dataclass(frozen=True)
class Activity:
    start: datetime
    end: datetime  # exclusive: the end of the current minute
    buckets: list[Bucket]

    @property
    def triggers(self) -> int:
        return sum(bucket.triggers for bucket in self.buckets)

    @property
    def cart_adds(self) -> int:
        return sum(bucket.cart_adds for bucket in self.buckets)

    @property
    def last_minute(self) -> Bucket:
        return self.buckets[-1]


@dataclass(frozen=True)
class PostKey:
    """A shoppable post to follow: its network and id."""

    network: str
    post_id: str


def floor_minute(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(second=0, microsecond=0)


def activity(
    connection: Connection, now: datetime, minutes: int, post: PostKey | None = None
) -> Activity:
    """Per-minute counts for the `minutes` minutes up to and including the current one."""
    end = floor_minute(now) + MINUTE
    start = end - minutes * MINUTE
    triggers = _trigger_times(connection, start, end, post)
    adds = _cart_add_times(connection, start, end, post)
    buckets = [
        Bucket(start + index * MINUTE, triggers.get(index, 0), adds.get(index, 0))
        for index in range(minutes)
    ]
    return Activity(start, end, buckets)


def _per_minute(times: list[datetime], start: datetime) -> dict[int, int]:
    counts: dict[int, int] = {}
    for moment in times:
        index = int((moment - start) // MINUTE)
        counts[index] = counts.get(index, 0) + 1
    return counts


def _trigger_times(
    connection: Connection, start: datetime, end: datetime, post: PostKey | None
) -> dict[int, int]:
    p = t.posts
    query = select(p.c.created_at).where(
        p.c.list_kind.is_not(None), p.c.created_at >= start, p.c.created_at < end
    )
    if post is not None:
        query = query.where(p.c.network == post.network, p.c.parent_id == post.post_id)
    return _per_minute([row[0] for row in connection.execute(query)], start)


def _cart_add_times(
    connection: Connection, start: datetime, end: datetime, post: PostKey | None
) -> dict[int, int]:
    lines = t.cart_lines
    query = select(lines.c.created_at).where(lines.c.created_at >= start, lines.c.created_at < end)
    if post is not None:
        trigger = t.posts
        from_reply = (
            select(trigger.c.post_id)
            .where(
                trigger.c.network == lines.c.network,
                trigger.c.post_id == lines.c.post_id,
                trigger.c.network == post.network,
                trigger.c.parent_id == post.post_id,
            )
            .exists()
        )
        from_web = and_(
            lines.c.network == WEB_NETWORK,
            lines.c.post_id == web_source(post.network, post.post_id),
        )
        query = query.where(or_(from_reply, from_web))
    return _per_minute([row[0] for row in connection.execute(query)], start)


@dataclass(frozen=True)
class PostChoice:
    network: str
    post_id: str
    text: str | None
    created_at: datetime


def recent_shoppable_posts(
    connection: Connection, limit: int = 30, accounts: Iterable[ShopAccount] = ()
) -> list[PostChoice]:
    """The newest shoppable posts (those of `accounts`, when there are any), to pick one to
    follow."""
    p = t.posts
    query = (
        select(p.c.network, p.c.post_id, p.c.text, p.c.created_at)
        .where(*shoppable_conditions(p, accounts=accounts))
        .order_by(p.c.created_at.desc(), p.c.network, p.c.post_id)
        .limit(limit)
    )
    return [
        PostChoice(row.network, row.post_id, row.text, row.created_at)
        for row in connection.execute(query)
    ]
