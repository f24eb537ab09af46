"""The kept funnel figures (views/funnel_kept) equal the figures worked out from the rows
(views/funnel), after each write path that changes them and after random sequences of
writes, on SQLite and PostgreSQL. The write paths are the rows the funnel counts: each is
written here as the engine writes it (one statement), so the database triggers that name
the changed posts (store/funnel_marks) are what is tested, whichever code path writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from hashcart.clock import FixedClock
from hashcart.domain.shop_accounts import parse_shop_accounts
from hashcart.outbox.fallback import FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX
from hashcart.store import schema as t
from hashcart.store.database import make_engine, read_only_transaction, upgrade, write_transaction
from hashcart.store.funnel_marks import FALLBACK_KEY_PREFIXES
from hashcart.views.funnel import SORT_KEYS, funnel, shop_totals
from hashcart.views.funnel_keeping import FunnelKeeper, is_fresh, rebuild, refresh
from hashcart.views.funnel_kept import kept_page, kept_totals

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
POSTS = (("x", "100"), ("x", "101"), ("bluesky", "200"))
PRODUCTS = ("mug", "beans")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    upgrade(made)
    with write_transaction(made) as connection:
        _world(connection)
    yield made
    made.dispose()


def _world(connection: Connection) -> None:
    for product in PRODUCTS:
        connection.execute(
            insert(t.products).values(
                product_id=product,
                title=product.title(),
                link=f"https://shop.example/products/{product}",
                availability="in stock",
                updated_at=NOW,
            )
        )
    connection.execute(
        insert(t.customers), [{"email": f"c{n}@example.com", "created_at": NOW} for n in (1, 2)]
    )
    connection.execute(insert(t.offers).values(tag="#deal", tag_key="deal", created_at=NOW))
    for index, (network, post_id) in enumerate(POSTS):
        connection.execute(
            insert(t.posts).values(
                network=network,
                post_id=post_id,
                author_id="shop",
                author_handle="shop",
                text=f"post {post_id}",
                created_at=NOW - timedelta(hours=index),
                has_shop_link=True,
            )
        )
        connection.execute(
            insert(t.post_products).values(
                network=network, post_id=post_id, position=1, product_id=PRODUCTS[index % 2]
            )
        )


def _ids(connection: Connection, table: Any) -> list[int]:
    return [int(value) for value in connection.scalars(select(table.c.id).order_by(table.c.id))]


def _customer(connection: Connection) -> int:
    return _ids(connection, t.customers)[0]


def _triggers(connection: Connection) -> list[tuple[str, str]]:
    p = t.posts
    query = select(p.c.network, p.c.post_id).where(p.c.parent_id.is_not(None)).order_by(p.c.post_id)
    return [(row.network, row.post_id) for row in connection.execute(query)]


# --- the writes ------------------------------------------------------------------------

Write = Callable[[Connection, int], None]


def add_trigger(connection: Connection, n: int) -> None:
    network, parent = POSTS[n % 3]
    # A new id each time, a deleted trigger's included (a count of posts would repeat one).
    ids = connection.scalars(select(t.posts.c.post_id).where(t.posts.c.post_id.like("t%")))
    number = max((int(post_id[1:]) + 1 for post_id in ids), default=0)
    connection.execute(
        insert(t.posts).values(
            network=network,
            post_id=f"t{number}",
            author_id=f"fan{n}",
            author_handle=f"fan{n}",
            text="#cart",
            created_at=NOW,
            has_shop_link=False,
            parent_id=parent,
            list_kind=("cart", "wishlist")[n % 2],
            quantity=1,
        )
    )


def act(connection: Connection, n: int) -> None:
    """An action for a trigger, or its outcome changed (claimed -> added: services/actions)."""
    triggers = _triggers(connection)
    if not triggers:
        return
    network, trigger = triggers[n % len(triggers)]
    a = t.actions
    outcome = ("added", "wishlisted", "pending", "already_in_cart", "pending_applied")[n % 5]
    found = connection.scalar(
        select(a.c.id).where(a.c.network == network, a.c.trigger_post_id == trigger)
    )
    if found is None:
        connection.execute(
            insert(a).values(
                network=network, trigger_post_id=trigger, outcome=outcome, created_at=NOW
            )
        )
    else:
        connection.execute(update(a).where(a.c.id == found).values(outcome=outcome))


def intend(connection: Connection, n: int) -> None:
    """A pending intent for a trigger (expiring around now), or applied / expired."""
    triggers = _triggers(connection)
    if not triggers:
        return
    network, trigger = triggers[n % len(triggers)]
    i = t.pending_intents
    found = connection.scalar(
        select(i.c.id).where(i.c.network == network, i.c.trigger_post_id == trigger)
    )
    if found is None:
        connection.execute(
            insert(i).values(
                network=network,
                account_id=f"fan{n}",
                account_handle=f"fan{n}",
                trigger_post_id=trigger,
                list_kind="cart",
                product_id="mug",
                quantity=1,
                trigger_at=NOW,
                expires_at=NOW + timedelta(minutes=30 * (n % 4)),
                status="waiting",
            )
        )
    else:
        status = ("applied", "expired", "waiting")[n % 3]
        connection.execute(update(i).where(i.c.id == found).values(status=status))


def add_web_line(connection: Connection, n: int) -> None:
    network, post_id = POSTS[n % 3]
    customer = _ids(connection, t.customers)[n % 2]
    connection.execute(
        delete(t.cart_lines).where(
            t.cart_lines.c.customer_id == customer,
            t.cart_lines.c.product_id == PRODUCTS[n % 2],
        )
    )
    connection.execute(
        insert(t.cart_lines).values(
            customer_id=customer,
            product_id=PRODUCTS[n % 2],
            quantity=1,
            network="web",
            post_id=f"{network}/{post_id}",
            created_at=NOW,
        )
    )


def remove_web_line(connection: Connection, n: int) -> None:
    lines = _ids(connection, t.cart_lines)
    if not lines:
        add_web_line(connection, n)
        return
    connection.execute(delete(t.cart_lines).where(t.cart_lines.c.id == lines[n % len(lines)]))


def place_order(connection: Connection, n: int) -> None:
    """An order with a line per post named (the second in the web form), as checkout does."""
    count = connection.scalar(select(func.coalesce(func.max(t.orders.c.id), 0))) or 0
    order_id = connection.execute(
        insert(t.orders)
        .values(
            customer_id=_customer(connection),
            checkout_key=f"k{count}-{n}",
            status="paid",
            email="c1@example.com",
            ship_name="C",
            ship_line1="1 Street",
            ship_city="Town",
            ship_postcode="1",
            ship_country="US",
            payment_gateway="test_card",
            payment_reference=f"r{count}",
            total_amount=Decimal("10"),
            currency="USD",
            created_at=NOW,
        )
        .returning(t.orders.c.id)
    ).scalar_one()
    for index in range(1 + n % 2):
        network, post_id = POSTS[(n + index) % 3]
        connection.execute(
            insert(t.order_lines).values(
                order_id=order_id,
                product_id="mug",
                title="Mug",
                unit_price=Decimal("12.50") if n % 3 else Decimal("0"),
                currency=("USD", "EUR")[n % 2],
                quantity=1 + n % 3,
                network="web" if index else network,
                post_id=f"{network}/{post_id}" if index else post_id,
            )
        )


def cancel_order(connection: Connection, n: int) -> None:
    """An order deleted with its lines (the cascade), or a line's quantity changed."""
    orders = _ids(connection, t.orders)
    if not orders:
        place_order(connection, n)
        return
    if n % 2:
        connection.execute(delete(t.orders).where(t.orders.c.id == orders[n % len(orders)]))
    else:
        lines = _ids(connection, t.order_lines)
        line = t.order_lines.c.id == lines[n % len(lines)]
        connection.execute(update(t.order_lines).where(line).values(quantity=5 + n))


def buy(connection: Connection, n: int) -> None:
    """A buy with a post requested, or its status moved on."""
    b = t.buy_requests
    found = _ids(connection, b)
    if found and n % 2:
        status = ("confirmed", "bought", "declined", "expired")[n % 4]
        connection.execute(update(b).where(b.c.id == found[n % len(found)]).values(status=status))
        return
    network, post_id = POSTS[n % 3]
    count = len(found)
    connection.execute(
        insert(b).values(
            network=network,
            account_id=f"fan{n}",
            account_handle=f"fan{n}",
            customer_id=_customer(connection),
            product_id="mug",
            title="Mug",
            quantity=1,
            unit_price=Decimal("12.50"),
            currency="USD",
            total=Decimal("12.50"),
            code=f"C{count}",
            buy_key=f"buy-{count}",
            gateway="test_card",
            method_id="pm",
            card_last4="4242",
            status="open",
            created_at=NOW,
            expires_at=NOW,
            source_post_id=post_id,
            trigger_post_id=f"b{count}",
            updated_at=NOW,
        )
    )


def load_offer(connection: Connection, n: int) -> None:
    """An offer loaded by a reply to a post, or redeemed by an order."""
    loads = t.offer_loads
    found = _ids(connection, loads)
    orders = _ids(connection, t.orders)
    if found and orders and n % 2:
        redeemed = loads.c.id == found[n % len(found)]
        connection.execute(update(loads).where(redeemed).values(redeemed_order_id=orders[0]))
        return
    network, post_id = POSTS[n % 3]
    offer = _ids(connection, t.offers)[0]
    connection.execute(
        insert(loads).values(
            offer_id=offer,
            network=network,
            account_id=f"fan{len(found)}",
            status=("loaded", "pending")[n % 2],
            trigger_post_id=f"o{len(found)}",
            parent_post_id=post_id,
            posted_at=NOW,
        )
    )


def fail_reply(connection: Connection, n: int) -> None:
    """A reply to a trigger that the network refused, then sent another way instead."""
    triggers = _triggers(connection)
    if not triggers:
        return
    network, trigger = triggers[n % len(triggers)]
    count = connection.scalar(select(func.count()).select_from(t.outbox)) or 0
    reply_id = connection.execute(
        insert(t.outbox)
        .values(
            network=network,
            account_id="fan",
            in_reply_to=trigger,
            reason="added",
            text="Added",
            dedupe_key=f"reply-{count}",
            status="queued",
            created_at=NOW,
            channel="reply",
        )
        .returning(t.outbox.c.id)
    ).scalar_one()
    connection.execute(update(t.outbox).where(t.outbox.c.id == reply_id).values(status="failed"))
    prefix = (FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX)[n % 2]
    connection.execute(
        insert(t.outbox).values(
            network="email" if n % 2 == 0 else "bluesky",
            account_id="fan",
            in_reply_to=trigger,
            reason="added",
            text="Added",
            dedupe_key=f"{prefix}{reply_id}",
            status="queued",
            created_at=NOW,
            channel="email" if n % 2 == 0 else "private",
        )
    )


def rename_product(connection: Connection, n: int) -> None:
    connection.execute(
        update(t.products)
        .where(t.products.c.product_id == PRODUCTS[n % 2])
        .values(title=f"Renamed {n}")
    )


def unlist_post(connection: Connection, n: int) -> None:
    """A post loses its product (no longer shoppable), or gets one back."""
    network, post_id = POSTS[n % 3]
    pp = t.post_products
    which = (pp.c.network == network, pp.c.post_id == post_id)
    if connection.scalar(select(func.count()).select_from(pp).where(*which)):
        connection.execute(delete(pp).where(*which))
    else:
        connection.execute(
            insert(pp).values(network=network, post_id=post_id, position=1, product_id="beans")
        )


def delete_trigger(connection: Connection, n: int) -> None:
    triggers = _triggers(connection)
    if triggers:
        network, trigger = triggers[n % len(triggers)]
        p = t.posts
        connection.execute(delete(p).where(p.c.network == network, p.c.post_id == trigger))


WRITES: dict[str, Write] = {
    write.__name__: write
    for write in (
        add_trigger,
        act,
        intend,
        add_web_line,
        remove_web_line,
        place_order,
        cancel_order,
        buy,
        load_offer,
        fail_reply,
        rename_product,
        unlist_post,
        delete_trigger,
    )
}


# --- the comparison --------------------------------------------------------------------


def assert_kept_equal_counted(engine: Engine, now: datetime) -> None:
    with write_transaction(engine) as connection:
        refresh(connection, now)
    with read_only_transaction(engine) as connection:
        assert is_fresh(connection, now)
        for network in (None, "x"):
            counted = funnel(connection, now, network=network)
            by_key = {(row.network, row.post_id): row for row in counted.rows}
            for sort in ("posted", "triggers", "revenue", "products"):
                page = kept_page(
                    connection,
                    network=network,
                    accounts=(),
                    sort=sort,
                    descending=True,
                    after="",
                    before="",
                    limit=100,
                )
                assert {(row.network, row.post_id): row for row in page.items} == by_key
            kept = kept_totals(connection, network=network, accounts=())
            assert kept == shop_totals(connection, now, network=network)
        # The shop's own accounts named: the kept rows of their posts, added up.
        accounts = parse_shop_accounts(["x:shop"])
        counted = funnel(connection, now, accounts=accounts)
        page = kept_page(
            connection,
            network=None,
            accounts=accounts,
            sort="orders",
            descending=False,
            after="",
            before="",
            limit=100,
        )
        assert sorted(page.items, key=lambda row: row.post_id) == sorted(
            counted.rows, key=lambda row: row.post_id
        )
        assert kept_totals(connection, network=None, accounts=accounts) == shop_totals(
            connection, now, accounts=accounts
        )


def _prepare(connection: Connection) -> None:
    """Writes every path's rows once, so each path below changes rows that exist."""
    for n in range(4):
        add_trigger(connection, n)
        act(connection, n)
        intend(connection, n)
    place_order(connection, 1)
    add_web_line(connection, 0)
    buy(connection, 0)
    load_offer(connection, 0)


def test_each_write_path_keeps_the_figures_the_rows_give(engine: Engine) -> None:
    """Every path in turn on one database (a database per path would cost a second each
    on PostgreSQL): each write names a post it changed, and the recount equals the rows."""
    with write_transaction(engine) as connection:
        _prepare(connection)
    assert_kept_equal_counted(engine, NOW)
    for name, write in sorted(WRITES.items()):
        for n in range(3):
            with write_transaction(engine) as connection:
                write(connection, n)
            with read_only_transaction(engine) as connection:
                assert not is_fresh(connection, NOW), f"{name} named no post it changed"
            assert_kept_equal_counted(engine, NOW)


def test_a_rebuild_of_the_whole_shop_keeps_what_the_recount_keeps(engine: Engine) -> None:
    """A long backlog (a backfill, a console nobody opened) is recounted all at once."""
    with write_transaction(engine) as connection:
        _prepare(connection)
        for _, write in sorted(WRITES.items()):
            write(connection, 1)
    with write_transaction(engine) as connection:
        assert rebuild(connection, NOW) == 2  # unlist_post took one post's product
    assert_kept_equal_counted(engine, NOW)


def test_a_pending_intent_that_expires_is_recounted_without_a_write(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        add_trigger(connection, 0)
        intend(connection, 1)  # waits 30 minutes
    assert_kept_equal_counted(engine, NOW)
    later = NOW + timedelta(minutes=31)
    with read_only_transaction(engine) as connection:
        assert not is_fresh(connection, later)
    assert_kept_equal_counted(engine, later)


def test_serves_keeper_recounts_without_a_page_being_read(engine: Engine) -> None:
    """`hashcart serve`'s beat (FunnelKeeper) recounts what writes named, so change rows do
    not pile up for the first page read after a busy day."""
    with write_transaction(engine) as connection:
        _prepare(connection)
    with read_only_transaction(engine) as connection:
        assert not is_fresh(connection, NOW)
    FunnelKeeper(engine, FixedClock(NOW)).beat()
    with read_only_transaction(engine) as connection:
        assert is_fresh(connection, NOW)
        assert connection.scalar(select(func.count()).select_from(t.post_funnel_changes)) == 0
    assert_kept_equal_counted(engine, NOW)


def test_the_kept_figures_sort_pages_by_key_like_the_counted_ones(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        for n in range(9):
            add_trigger(connection, n % 2)
    with write_transaction(engine) as connection:
        refresh(connection, NOW)
    with read_only_transaction(engine) as connection:
        first = kept_page(
            connection,
            network=None,
            accounts=(),
            sort="triggers",
            descending=True,
            after="",
            before="",
            limit=2,
        )
        assert [row.triggers for row in first.items] == [5, 4]
        assert first.next_after is not None
        second = kept_page(
            connection,
            network=None,
            accounts=(),
            sort="triggers",
            descending=True,
            after=first.next_after,
            before="",
            limit=2,
        )
        assert [(row.post_id, row.triggers) for row in second.items] == [("200", 0)]


def test_every_sort_key_has_a_kept_order(engine: Engine) -> None:
    with read_only_transaction(engine) as connection:
        for sort in SORT_KEYS:
            kept_page(
                connection,
                network=None,
                accounts=(),
                sort=sort,
                descending=False,
                after="",
                before="",
                limit=5,
            )


def test_the_marks_know_the_outboxs_fallback_keys() -> None:
    assert (FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX) == FALLBACK_KEY_PREFIXES


_STEPS = st.lists(
    st.tuples(st.sampled_from([*sorted(WRITES), "refresh", "later"]), st.integers(0, 11)),
    min_size=1,
    max_size=14,
)


def _clear(connection: Connection) -> None:
    for table in (
        t.post_funnel_changes,
        t.post_funnel,
        t.post_funnel_totals,
        t.post_funnel_orders,
        t.offer_loads,
        t.buy_requests,
        t.order_lines,
        t.orders,
        t.outbox,
        t.cart_lines,
        t.pending_intents,
        t.actions,
        t.post_products,
        t.posts,
        t.offers,
        t.customers,
        t.products,
    ):
        connection.execute(delete(table))
    _world(connection)


@pytest.mark.parametrize("examples", [12])
def test_random_sequences_of_writes_keep_the_figures_the_rows_give(
    engine: Engine, examples: int
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=_STEPS)
    def check(steps: list[tuple[str, int]]) -> None:
        with write_transaction(engine) as connection:
            _clear(connection)
        now = NOW
        for name, n in steps:
            if name == "refresh":
                with write_transaction(engine) as connection:
                    refresh(connection, now)
            elif name == "later":
                now += timedelta(minutes=20)
            else:
                with write_transaction(engine) as connection:
                    WRITES[name](connection, n)
        assert_kept_equal_counted(engine, now)

    check()
