"""The funnel's figures kept per post (issue 14, pages that stay fast on a big shop).

`post_funnel` holds each shoppable post's figures and `post_funnel_totals` their sums per
network, so a page sorted by a count is read from an index at its key, and the whole shop's
totals are a few rows, however many posts the shop has.

Exact, not approximate:

- Every write that can change a post's figures names the post in `post_funnel_changes`, in
  its own transaction, by a database trigger (store/funnel_marks): no write path can forget.
- `refresh` recounts the posts those rows name with the very grouped queries a page uses
  (views/funnel, a page's scope) and replaces their kept rows, moving the totals by the
  difference, then deletes the change rows it read (only those: a write that commits
  meanwhile is recounted by the next refresh). `pending` depends on the clock (an intent
  expires without a write): each row keeps when its first waiting intent expires, and a
  refresh recounts the rows whose moment has passed.
- A page reads the kept figures only when, in its own snapshot, no change row waits and no
  pending moment has passed (`is_fresh`); otherwise it works the figures out as before
  (views/funnel_kept.funnel_page). Routes call `refresh_kept` first, so a page of a quiet shop
  always finds them fresh, and `hashcart serve` recounts in the background (`FunnelKeeper`,
  every few seconds), so change rows never pile up for the first page after a busy day.

tests/integration/test_post_funnel.py holds the kept figures equal to the recounted ones
after each write path and after random sequences of writes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, true, update

from hashcart.clock import Clock
from hashcart.outbox.fallback import FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX
from hashcart.services.beats import Beat
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.shoppable import shoppable_conditions
from hashcart.store.shopping import WEB_NETWORK, parse_web_source, web_source
from hashcart.views.funnel import CENTS, FunnelRow, _add_counts, _keys_in, _Scope, funnel

# Posts recounted per round of grouped queries (their keys go into IN lists).
CHUNK = 500
# Change rows read per round.
CHANGES = 50_000
# Above this many change rows waiting, a refresh recounts the whole shop at once (`rebuild`).
WHOLE_SHOP = 50_000
# PostgreSQL: one refresh at a time (a transaction-level advisory lock), so two refreshes
# never move the totals by the same difference twice. SQLite: the write lock does it.
_REFRESH_LOCK = 1_401_431_314

INT_FIGURES = (
    "triggers",
    "valid",
    "carted",
    "wishlisted",
    "pending",
    "orders",
    "units",
    "confirmed_elsewhere",
    "buys_requested",
    "buys_confirmed",
    "offer_loads",
    "offer_redemptions",
)
# The figures the totals add up (orders are distinct orders there: counted when read).
SUMMED = tuple(name for name in INT_FIGURES if name != "orders")
_SEPARATOR = "\x01"


def is_fresh(connection: Connection, now: datetime) -> bool:
    """Whether the kept figures equal the rows in this snapshot: no change waits to be
    recounted and no kept pending count has outlived an intent."""
    changes = t.post_funnel_changes
    if connection.scalar(select(changes.c.id).limit(1)) is not None:
        return False
    pf = t.post_funnel
    due = select(pf.c.network).where(pf.c.pending_until <= now).limit(1)
    return connection.scalar(due) is None


def refresh_kept(engine: Engine, now: datetime) -> None:
    """Recount what waits, if anything does (a read first: a quiet shop takes no write lock)."""
    with read_only_transaction(engine) as connection:
        if is_fresh(connection, now):
            return
    with write_transaction(engine) as connection:
        refresh(connection, now)


@contextmanager
def kept_snapshot(engine: Engine, now: datetime) -> Iterator[tuple[Connection, bool]]:
    """`refresh_kept`, then a read-only snapshot, and whether the kept figures are fresh in
    it (`is_fresh`) -- in one transaction when nothing waits (a quiet shop's every page):
    the check that no change waits is the same two reads either way, so asked once in the
    page's own snapshot instead of once before it and once in it (two reads and a
    transaction fewer a page). When something waits, it is recounted and a new snapshot
    opened, as `refresh_kept` before the read did."""
    with read_only_transaction(engine) as connection:
        if is_fresh(connection, now):
            yield connection, True
            return
    with write_transaction(engine) as connection:
        refresh(connection, now)
    with read_only_transaction(engine) as connection:
        yield connection, is_fresh(connection, now)


class FunnelKeeper(Beat):
    """`hashcart serve`'s background recount of the kept figures, every `every` seconds:
    a page then finds at most a few seconds of change rows to recount, not all that
    accumulated since the console was last opened."""

    name = "hashcart-funnel"
    failure = "recounting the kept funnel figures failed; it runs again in %.0f s"

    def __init__(self, engine: Engine, clock: Clock, every: float = 5.0) -> None:
        super().__init__(every, first_at_once=False)
        self.engine = engine
        self.clock = clock

    def describe(self) -> str:
        """Its line in `hashcart serve`'s banner."""
        return f"  funnel figures:   recounted every {self.every:g} s"

    def beat(self) -> None:
        refresh_kept(self.engine, self.clock.now())


def refresh(connection: Connection, now: datetime) -> int:
    """Recount every post a change row names or whose pending moment has passed; how many
    posts were recounted. Runs inside the caller's write transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_REFRESH_LOCK)))
    changes = t.post_funnel_changes
    pf = t.post_funnel
    waiting = select(changes.c.id).limit(WHOLE_SHOP + 1).subquery()
    if (connection.scalar(select(func.count()).select_from(waiting)) or 0) > WHOLE_SHOP:
        return rebuild(connection, now)
    recounted = 0
    while True:
        found = connection.execute(
            select(changes.c.id, changes.c.source, changes.c.network, changes.c.ref)
            .order_by(changes.c.id)
            .limit(CHANGES)
        ).all()
        due = connection.execute(
            select(pf.c.network, pf.c.post_id).where(pf.c.pending_until <= now).limit(CHANGES)
        ).all()
        if not found and not due:
            return recounted
        keys = _posts_named(connection, found) | {(row.network, row.post_id) for row in due}
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            recount(connection, ordered[start : start + CHUNK], now)
        ids = [row.id for row in found]
        for start in range(0, len(ids), CHUNK):
            connection.execute(delete(changes).where(changes.c.id.in_(ids[start : start + CHUNK])))
        recounted += len(keys)


def rebuild(connection: Connection, now: datetime) -> int:
    """Recount every shoppable post at once (the full funnel's grouped queries over all the
    rows, views/funnel.funnel), for a backfill or a long backlog; how many posts it kept.

    The change rows are deleted first: every write they name committed before this, so the
    queries that follow see it; a change committed meanwhile stays for the next refresh."""
    connection.execute(delete(t.post_funnel_changes))
    rows = funnel(connection, now).rows
    until = _pending_until(connection, None, now)
    connection.execute(delete(t.post_funnel))
    connection.execute(delete(t.post_funnel_totals))
    figures: list[dict[str, Any]] = []
    for start in range(0, len(rows), 5000):
        batch = [
            _kept_row(row, until.get((row.network, row.post_id)))
            for row in rows[start : start + 5000]
        ]
        connection.execute(insert(t.post_funnel), batch)
        figures.extend(_kept_figures_of(values) for values in batch)
    _move_totals(connection, [], figures)
    _keep_orders(connection, None, {(row.network, row.post_id) for row in rows})
    return len(rows)


def _posts_named(connection: Connection, changes: Sequence[Any]) -> set[tuple[str, str]]:
    """The posts (network, post id) whose figures the change rows may have moved."""
    posts: set[tuple[str, str]] = set()
    triggers: set[tuple[str, str]] = set()
    replies: set[int] = set()
    products: set[str] = set()
    for row in changes:
        if row.source == "post":
            key = (
                parse_web_source(row.ref) if row.network == WEB_NETWORK else (row.network, row.ref)
            )
            if key:
                posts.add(key)
        elif row.source == "trigger":
            triggers.add((row.network, row.ref))
        elif row.source == "fallback":
            for prefix in (FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX):
                if row.ref.startswith(prefix) and row.ref[len(prefix) :].isdigit():
                    replies.add(int(row.ref[len(prefix) :]))
        elif row.source == "product":
            products.add(row.ref)
    outbox = t.outbox
    for chunk in chunks(sorted(replies)):
        query = select(outbox.c.network, outbox.c.in_reply_to).where(outbox.c.id.in_(chunk))
        triggers.update((row.network, row.in_reply_to) for row in connection.execute(query))
    p = t.posts
    for keys in chunks(sorted(triggers)):
        query = select(p.c.network, p.c.parent_id).where(
            _keys_in(p.c.network, p.c.post_id, keys), p.c.parent_id.is_not(None)
        )
        posts.update((row.network, row.parent_id) for row in connection.execute(query))
    pp = t.post_products
    for ids in chunks(sorted(products)):
        query = select(pp.c.network, pp.c.post_id).where(pp.c.product_id.in_(ids)).distinct()
        posts.update((row.network, row.post_id) for row in connection.execute(query))
    return posts


def chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def recount(connection: Connection, keys: list[tuple[str, str]], now: datetime) -> None:
    """Replace the kept rows of `keys` by their figures worked out from the rows (a post that
    is not shoppable keeps none), and move the totals by the difference."""
    p = t.posts
    pf = t.post_funnel
    shown = connection.execute(
        select(
            p.c.network, p.c.post_id, p.c.author_id, p.c.author_handle, p.c.text, p.c.created_at
        ).where(_keys_in(p.c.network, p.c.post_id, keys), *shoppable_conditions(p))
    ).all()
    rows = {
        (row.network, row.post_id): FunnelRow(
            row.network, row.post_id, row.author_id, row.author_handle, row.text, row.created_at
        )
        for row in shown
    }
    if rows:
        _add_counts(connection, _Scope(rows, only=list(rows)), None, (), now)
    until = _pending_until(connection, list(rows), now)
    which = _keys_in(pf.c.network, pf.c.post_id, keys)
    old = [_kept_figures(row) for row in connection.execute(select(pf).where(which))]
    connection.execute(delete(pf).where(which))
    new = [_kept_row(row, until.get(key)) for key, row in sorted(rows.items())]
    if new:
        connection.execute(insert(pf), new)
    _move_totals(connection, old, [_kept_figures_of(row) for row in new])
    _keep_orders(connection, keys, set(rows))


def _keep_orders(
    connection: Connection, keys: list[tuple[str, str]] | None, shown: set[tuple[str, str]]
) -> None:
    """Replace the kept (post, order) pairs of `keys` (None: every post): an order with a
    line from a shown post, in either form (network and post id, or the web form `x/1`), as
    views/funnel._add_orders counts them. The totals' distinct orders are counted on these."""
    kept = t.post_funnel_orders
    lines = t.order_lines
    direct = select(lines.c.network, lines.c.post_id, lines.c.order_id).where(
        lines.c.network.is_not(None), lines.c.post_id.is_not(None)
    )
    if keys is None:
        connection.execute(delete(kept))
    else:
        connection.execute(delete(kept).where(_keys_in(kept.c.network, kept.c.post_id, keys)))
        direct = direct.where(
            or_(
                _keys_in(lines.c.network, lines.c.post_id, keys),
                and_(
                    lines.c.network == WEB_NETWORK,
                    lines.c.post_id.in_([web_source(*key) for key in keys]),
                ),
            )
        )
    pairs: set[tuple[str, str, int]] = set()
    for row in connection.execute(direct.distinct()):
        key = parse_web_source(row.post_id) if row.network == WEB_NETWORK else None
        network, post_id = key or (row.network, row.post_id)
        if (network, post_id) in shown:
            pairs.add((network, post_id, int(row.order_id)))
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 5000):
        connection.execute(
            insert(kept),
            [
                {"network": network, "post_id": post_id, "order_id": order_id}
                for network, post_id, order_id in ordered[start : start + 5000]
            ],
        )


def _pending_until(
    connection: Connection, keys: list[tuple[str, str]] | None, now: datetime
) -> dict[tuple[str, str], datetime]:
    """When the first intent still counted as pending expires, per post of `keys` (None:
    every post) (views/funnel's `pending`: a waiting intent of a trigger reply, not expired)."""
    if keys is not None and not keys:
        return {}
    trigger = t.posts.alias("trigger")
    intent = t.pending_intents
    query = (
        select(trigger.c.network, trigger.c.parent_id, func.min(intent.c.expires_at).label("until"))
        .select_from(
            intent.join(
                trigger,
                and_(
                    trigger.c.network == intent.c.network,
                    trigger.c.post_id == intent.c.trigger_post_id,
                ),
            )
        )
        .where(
            trigger.c.list_kind.is_not(None),
            intent.c.status == "waiting",
            intent.c.expires_at > now,
            true() if keys is None else _keys_in(trigger.c.network, trigger.c.parent_id, keys),
        )
        .group_by(trigger.c.network, trigger.c.parent_id)
    )
    return {(row.network, row.parent_id): row.until for row in connection.execute(query)}


def _money_text(amounts: dict[str, Decimal]) -> str:
    return json.dumps({currency: str(amount) for currency, amount in sorted(amounts.items())})


def money_of(text: str) -> dict[str, Decimal]:
    if text == "{}":  # most posts sold nothing: no JSON to parse (50 a funnel page)
        return {}
    return {currency: Decimal(amount) for currency, amount in json.loads(text).items()}


def _cents(amounts: dict[str, Decimal]) -> int:
    return int(sum(amounts.values(), Decimal(0)).quantize(CENTS) * 100)


def _kept_row(row: FunnelRow, pending_until: datetime | None) -> dict[str, Any]:
    return {
        "network": row.network,
        "post_id": row.post_id,
        "created_at": row.created_at,
        **{name: getattr(row, name) for name in INT_FIGURES},
        "pending_until": pending_until,
        "revenue": _money_text(row.revenue),
        "revenue_cents": _cents(row.revenue),
        "buy_revenue": _money_text(row.buy_revenue),
        "buy_revenue_cents": _cents(row.buy_revenue),
        "products": json.dumps([[ref.product_id, ref.title] for ref in row.products]),
        "products_key": _SEPARATOR.join(ref.title.casefold() for ref in row.products)[:400],
    }


def _kept_figures(row: Any) -> dict[str, Any]:
    """What the totals add of a kept row."""
    return {
        "network": row.network,
        **{name: getattr(row, name) for name in SUMMED},
        "revenue": money_of(row.revenue),
        "buy_revenue": money_of(row.buy_revenue),
    }


def _kept_figures_of(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "network": values["network"],
        **{name: values[name] for name in SUMMED},
        "revenue": money_of(values["revenue"]),
        "buy_revenue": money_of(values["buy_revenue"]),
    }


# The totals' money per currency: [amount, how many posts have the currency] (a currency
# leaves the totals when its last post does, even at 0.00, as views/funnel._totals adds).
_Money = dict[str, list[Any]]


def _move_totals(
    connection: Connection, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    moves: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    money: dict[str, dict[str, _Money]] = defaultdict(lambda: {"revenue": {}, "buy_revenue": {}})
    for sign, rows in ((-1, old), (1, new)):
        for row in rows:
            move = moves[row["network"]]
            move["posts"] += sign
            for name in SUMMED:
                move[name] += sign * int(row[name])
            for column in ("revenue", "buy_revenue"):
                moved = money[row["network"]][column]
                for currency, amount in row[column].items():
                    entry = moved.setdefault(currency, [Decimal(0), 0])
                    entry[0] += sign * amount
                    entry[1] += sign
    totals = t.post_funnel_totals
    for network, move in sorted(moves.items()):
        current = connection.execute(
            select(totals).where(totals.c.network == network)
        ).one_or_none()
        if current is None:
            connection.execute(
                insert(totals).values(
                    network=network,
                    posts=0,
                    revenue="{}",
                    buy_revenue="{}",
                    **{name: 0 for name in SUMMED},
                )
            )
            current = connection.execute(select(totals).where(totals.c.network == network)).one()
        values: dict[str, Any] = {
            name: int(getattr(current, name)) + move[name] for name in ("posts", *SUMMED)
        }
        for column in ("revenue", "buy_revenue"):
            kept: _Money = json.loads(getattr(current, column))
            for currency, (amount, posts) in money[network][column].items():
                before = kept.get(currency, ["0", 0])
                after = [Decimal(before[0]) + amount, int(before[1]) + posts]
                if after[1]:
                    kept[currency] = [str(after[0]), after[1]]
                else:
                    kept.pop(currency, None)
            values[column] = json.dumps(dict(sorted(kept.items())))
        connection.execute(update(totals).where(totals.c.network == network).values(**values))
