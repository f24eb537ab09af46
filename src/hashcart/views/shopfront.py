"""The shop front's read side: the shop's shoppable posts, newest first, a page at a time,
each with its products as the catalog stands now (prices are re-read, never frozen)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, tuple_

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.known_handles import known_handles
from hashcart.store.shoppable import shoppable_conditions


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
    page: int
    pages: int  # at least 1, even for a shop without posts yet
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _on_the_front(accounts: Iterable[ShopAccount]) -> list[ColumnElement[bool]]:
    """The shoppable posts (see store/shoppable) the front shows: not deleted ones."""
    return [*shoppable_conditions(t.posts, accounts=accounts), t.posts.c.text.is_not(None)]


def count_shoppable_posts(connection: Connection, accounts: Iterable[ShopAccount] = ()) -> int:
    query = select(func.count()).select_from(t.posts).where(*_on_the_front(accounts))
    return int(connection.execute(query).scalar_one())


def shoppable_posts(
    connection: Connection, page: int, per_page: int, accounts: Iterable[ShopAccount] = ()
) -> FrontPage:
    """Page `page` (1-based) of the shop's shoppable posts (those of `accounts`, when there
    are any), newest first."""
    accounts = tuple(accounts)
    total = count_shoppable_posts(connection, accounts)
    pages = max(1, -(-total // per_page))
    rows = connection.execute(
        select(
            t.posts.c.network,
            t.posts.c.post_id,
            t.posts.c.author_id,
            t.posts.c.author_handle,
            t.posts.c.text,
            t.posts.c.created_at,
        )
        .where(*_on_the_front(accounts))
        # Ties (same second on two networks) in a fixed order, so pages never overlap.
        .order_by(t.posts.c.created_at.desc(), t.posts.c.network, t.posts.c.post_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    products = _products_of(connection, [(row.network, row.post_id) for row in rows])
    posts = front_posts(connection, rows, products)
    return FrontPage(posts=posts, page=page, pages=pages, total=total)


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
        .where(tuple_(pp.c.network, pp.c.post_id).in_(keys))
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
