"""The shop front's read side: the shop's shoppable posts, newest first, a page at a time,
each with its products as the catalog stands now (prices are re-read, never frozen).

Pages are read by key (views/keyset): a page starts after the key of the last post the page
before it showed, so the thousandth page costs what the first does. `?page=N` links, the
front's paging before, still work (by OFFSET). The count comes from the funnel's kept
figures (views/funnel_kept) less the erased posts (an index holds those), not from counting
every post; it is counted from the rows only when the kept figures cannot say.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.known_handles import known_handles
from hashcart.store.shoppable import shoppable_conditions
from hashcart.views.funnel import _keys_in
from hashcart.views.funnel_keeping import is_fresh
from hashcart.views.funnel_kept import kept_shoppable_posts
from hashcart.views.keyset import KeyOrder, beyond, encode_cursor, keyset_page, order_by


@dataclass(frozen=True, slots=True)
class FrontProduct:
    position: int  # 1-based, as `#cart 2` counts the post's products
    product_id: str
    title: str
    link: str
    price_amount: Decimal | None
    currency: str | None
    availability: str


@dataclass(frozen=True, slots=True)
class FrontPost:
    network: str
    post_id: str
    author_id: str
    author_handle: str
    text: str
    created_at: datetime
    products: tuple[FrontProduct, ...]
    # For a post that came without a handle: the one the shop knows for its author, if any.
    known_handle: str = ""


@dataclass(frozen=True, slots=True)
class FrontPage:
    posts: tuple[FrontPost, ...]
    page: int  # the page number of a `?page=N` link; 0 for a page read by key
    pages: int  # at least 1, even for a shop without posts yet
    total: int
    # The cursors of the older page (None on the last) and of the newer one (None on the
    # first): `?after=` and `?before=` links.
    next_after: str | None = None
    previous_before: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.previous_before is not None

    @property
    def has_next(self) -> bool:
        return self.next_after is not None

    @property
    def is_first(self) -> bool:
        """The newest posts: the page the front's script offers new posts on."""
        return self.previous_before is None


# Newest first; ties (same second on two networks) in a fixed order, so pages never overlap.
# Every column the same way: the posts' index (created_at, network, post_id) read backwards
# gives the order, so a page reads its rows at the key and sorts nothing (a mixed order had
# the whole front sorted for every page).
FRONT_ORDER: KeyOrder = (
    (t.posts.c.created_at, True),
    (t.posts.c.network, True),
    (t.posts.c.post_id, True),
)
# What the front shows of a post (its list, and a product page's).
POST_COLUMNS = (
    t.posts.c.network,
    t.posts.c.post_id,
    t.posts.c.author_id,
    t.posts.c.author_handle,
    t.posts.c.text,
    t.posts.c.created_at,
)


def _on_the_front(accounts: Iterable[ShopAccount]) -> list[ColumnElement[bool]]:
    """The shoppable posts (see store/shoppable) the front shows: not deleted ones."""
    return [*shoppable_conditions(t.posts, accounts=accounts), t.posts.c.text.is_not(None)]


def count_shoppable_posts(connection: Connection, accounts: Iterable[ShopAccount] = ()) -> int:
    """The front's posts counted from the rows: every one of them is read."""
    query = select(func.count()).select_from(t.posts).where(*_on_the_front(accounts))
    return int(connection.execute(query).scalar_one())


def count_front_posts(
    connection: Connection, now: datetime, accounts: Iterable[ShopAccount] = ()
) -> int:
    """How many posts the front shows: the kept count of shoppable posts (fresh in this
    snapshot, no shop accounts singling posts out) less the erased ones, read from the
    index on erased posts; else counted from the rows."""
    accounts = tuple(accounts)
    kept = kept_shoppable_posts(connection, now, accounts)
    if kept is None:
        return count_shoppable_posts(connection, accounts)
    erased = (
        select(func.count())
        .select_from(t.posts)
        .where(t.posts.c.text.is_(None), *shoppable_conditions(t.posts))
    )
    return kept - int(connection.execute(erased).scalar_one())


def _key_of(row: Any) -> list[Any]:
    return [row.created_at, row.network, row.post_id]


def _front_query(accounts: Iterable[ShopAccount]) -> Select[Any]:
    return select(*POST_COLUMNS).where(*_on_the_front(accounts))


def shoppable_posts(
    connection: Connection,
    page: int,
    per_page: int,
    accounts: Iterable[ShopAccount] = (),
    now: datetime | None = None,
) -> FrontPage:
    """Page `page` (1-based, by OFFSET: the `?page=N` links) of the shop's shoppable posts
    (those of `accounts`, when there are any), newest first, with the cursors of the pages
    beside it."""
    accounts = tuple(accounts)
    total = _total(connection, now, accounts)
    pages = max(1, -(-total // per_page))
    skipped = (page - 1) * per_page
    if skipped > OFFSET_ROWS_READ and now is not None and page <= pages:
        start = _kept_key_before(connection, skipped, now, accounts)
        if start is not None:
            keyed, next_after, previous = keyset_page(
                connection,
                _front_query(accounts),
                FRONT_ORDER,
                _key_of,
                after=encode_cursor(start),
                limit=per_page,
            )
            return FrontPage(_shown(connection, keyed), page, pages, total, next_after, previous)
    rows = connection.execute(
        order_by(_front_query(accounts), FRONT_ORDER).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return FrontPage(
        posts=_shown(connection, rows),
        page=page,
        pages=pages,
        total=total,
        next_after=encode_cursor(_key_of(rows[-1])) if rows and page < pages else None,
        previous_before=encode_cursor(_key_of(rows[0])) if rows and page > 1 else None,
    )


# Up to this many posts before its page, `?page=N` reads them (OFFSET): as cheap as finding
# its key on the kept figures' index (about 1.5 ms), and 10-30 times dearer deeper down.
OFFSET_ROWS_READ = 2_000
# Above this many erased posts, `?page=N` is read by OFFSET (views/shopfront._kept_key_before
# passes over each of them; a shop erases a few).
ERASED_PASSED_OVER = 1_000


def _kept_key_before(
    connection: Connection, position: int, now: datetime, accounts: tuple[ShopAccount, ...]
) -> list[Any] | None:
    """The key of the front's post just before `position` (0-based, newest first: the last
    post of the page before), read by OFFSET on the kept figures' index of times
    (ix_post_funnel_created, entries only, never the posts' rows) and passing over the
    erased posts (the kept figures hold every shoppable post, the front not the erased).
    None when the kept figures cannot say (stale, shop accounts set, too many erased) or the
    front has no post there: the caller reads the posts by OFFSET."""
    if accounts or not is_fresh(connection, now):
        return None
    p, pf = t.posts, t.post_funnel
    erased = [p.c.text.is_(None), *shoppable_conditions(p)]
    # The erased posts' times (ix_posts_erased), newest first: compared here, exactly.
    times = connection.scalars(
        select(p.c.created_at).where(*erased).limit(ERASED_PASSED_OVER + 1)
    ).all()
    if len(times) > ERASED_PASSED_OVER:
        return None
    oldest_first = sorted(times)
    kept_order: KeyOrder = ((pf.c.created_at, True), (pf.c.network, True), (pf.c.post_id, True))
    passed = 0
    while True:  # each turn passes over more erased posts, never more than there are
        row = connection.execute(
            order_by(select(pf.c.created_at, pf.c.network, pf.c.post_id), kept_order)
            .limit(1)
            .offset(position - 1 + passed)
        ).first()
        if row is None:
            return None
        key = [row.created_at, row.network, row.post_id]
        # Erased posts up to this one in the front's order: the newer ones, and those of the
        # same moment at or before it (asked of the database, which orders the ties).
        erased_up_to = len(oldest_first) - bisect_right(oldest_first, row.created_at)
        if bisect_left(oldest_first, row.created_at) < bisect_right(oldest_first, row.created_at):
            up_to = or_(
                beyond(FRONT_ORDER, key, backwards=True),
                and_(p.c.network == row.network, p.c.post_id == row.post_id),
            )
            same_moment = select(func.count()).select_from(p)
            same_moment = same_moment.where(*erased, p.c.created_at == row.created_at, up_to)
            erased_up_to += int(connection.scalar(same_moment) or 0)
        if erased_up_to == passed:
            return key
        passed = erased_up_to


def front_page(
    connection: Connection,
    per_page: int,
    accounts: Iterable[ShopAccount] = (),
    *,
    after: str = "",
    before: str = "",
    now: datetime | None = None,
) -> FrontPage:
    """The page of the front's posts after the cursor `after` (before `before`; the first
    page without either), read from the posts' index at the key. BadCursor for a cursor the
    front did not hand out."""
    accounts = tuple(accounts)
    rows, next_after, previous = keyset_page(
        connection,
        _front_query(accounts),
        FRONT_ORDER,
        _key_of,
        after=after,
        before=before,
        limit=per_page,
    )
    total = _total(connection, now, accounts)
    return FrontPage(
        posts=_shown(connection, rows),
        page=0 if after or before else 1,
        pages=max(1, -(-total // per_page)),
        total=total,
        next_after=next_after,
        previous_before=previous,
    )


def _total(connection: Connection, now: datetime | None, accounts: tuple[ShopAccount, ...]) -> int:
    if now is None:
        return count_shoppable_posts(connection, accounts)
    return count_front_posts(connection, now, accounts)


def _shown(connection: Connection, rows: Sequence[Any]) -> tuple[FrontPost, ...]:
    products = _products_of(connection, [(row.network, row.post_id) for row in rows])
    return front_posts(connection, rows, products)


def front_posts(
    connection: Connection,
    rows: Sequence[Any],
    products: Mapping[tuple[str, str], Sequence[FrontProduct]],
) -> tuple[FrontPost, ...]:
    """Post rows (network, post_id, author_id, author_handle, text, created_at) as the front
    shows them, with their `products`. Posts that came without a handle (Jetstream) show the
    one the shop knows, if any."""
    handles = known_handles(
        connection,
        [(row.network, row.author_id) for row in rows if not row.author_handle.lstrip("@")],
    )
    return tuple(
        FrontPost(
            network=row.network,
            post_id=row.post_id,
            author_id=row.author_id,
            author_handle=row.author_handle,
            known_handle=handles.get((row.network, row.author_id), ""),
            text=row.text,
            created_at=row.created_at,
            products=tuple(products.get((row.network, row.post_id), ())),
        )
        for row in rows
    )


def _products_of(
    connection: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], list[FrontProduct]]:
    if not keys:
        return {}
    pp, p = t.post_products, t.products
    rows = connection.execute(
        select(
            pp.c.network,
            pp.c.post_id,
            pp.c.position,
            p.c.product_id,
            p.c.title,
            p.c.link,
            p.c.price_amount,
            p.c.currency,
            p.c.availability,
        )
        .join(p, p.c.product_id == pp.c.product_id)
        # Per network, not a row-value IN list: SQLite read the whole table for that.
        .where(_keys_in(pp.c.network, pp.c.post_id, keys))
        .order_by(pp.c.network, pp.c.post_id, pp.c.position)
    )
    found: dict[tuple[str, str], list[FrontProduct]] = {}
    for row in rows:
        found.setdefault((row.network, row.post_id), []).append(
            FrontProduct(
                position=row.position,
                product_id=row.product_id,
                title=row.title,
                link=row.link,
                price_amount=row.price_amount,
                currency=row.currency,
                availability=row.availability,
            )
        )
    return found


def cart_quantities(connection: Connection, customer_id: int) -> dict[str, int]:
    """How many of each product the customer has in their cart now."""
    rows = connection.execute(
        select(t.cart_lines.c.product_id, t.cart_lines.c.quantity).where(
            t.cart_lines.c.customer_id == customer_id
        )
    )
    return {row.product_id: int(row.quantity) for row in rows}
