"""The shop front's read side: the shop's shoppable posts, newest first, a page at a time,
each with its products as the catalog stands now (prices are re-read, never frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, exists, func, select, tuple_

from hashcart.store import schema as t


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


# Shoppable posts: a shop product link, not a trigger reply, not deleted, and at least one
# product the catalog knows (a link to an unknown product page is nothing to sell).
_SHOPPABLE = and_(
    t.posts.c.has_shop_link.is_(True),
    t.posts.c.parent_id.is_(None),
    t.posts.c.text.is_not(None),
    exists().where(
        t.post_products.c.network == t.posts.c.network,
        t.post_products.c.post_id == t.posts.c.post_id,
    ),
)


def count_shoppable_posts(connection: Connection) -> int:
    query = select(func.count()).select_from(t.posts).where(_SHOPPABLE)
    return int(connection.execute(query).scalar_one())


def shoppable_posts(connection: Connection, page: int, per_page: int) -> FrontPage:
    """Page `page` (1-based) of the shop's shoppable posts, newest first."""
    total = count_shoppable_posts(connection)
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
        .where(_SHOPPABLE)
        # Ties (same second on two networks) in a fixed order, so pages never overlap.
        .order_by(t.posts.c.created_at.desc(), t.posts.c.network, t.posts.c.post_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    products = _products_of(connection, [(row.network, row.post_id) for row in rows])
    posts = tuple(
        FrontPost(
            network=row.network,
            post_id=row.post_id,
            author_id=row.author_id,
            author_handle=row.author_handle,
            text=row.text,
            created_at=_aware(row.created_at),
            products=tuple(products.get((row.network, row.post_id), ())),
        )
        for row in rows
    )
    return FrontPage(posts=posts, page=page, pages=pages, total=total)


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


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cart_quantities(connection: Connection, customer_id: int) -> dict[str, int]:
    """How many of each product the customer has in their cart now."""
    rows = connection.execute(
        select(t.cart_lines.c.product_id, t.cart_lines.c.quantity).where(
            t.cart_lines.c.customer_id == customer_id
        )
    )
    return {row.product_id: int(row.quantity) for row in rows}
