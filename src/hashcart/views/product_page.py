"""The shop front's product page (/s/<shop_slug>/p/<product_id>): the product as the catalog
says now, its pictures, its variants (the rows sharing its item_group_id), how many are left
to sell, and the shop's posts that carry it, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.shoppable import shoppable_conditions
from hashcart.views.pictures import Picture, product_pictures
from hashcart.views.shopfront import POST_COLUMNS, FrontPost, front_posts

# The posts a product page lists, at most.
SHOWN_POSTS = 10


@dataclass(frozen=True, slots=True)
class VariantChoice:
    product_id: str
    color: str | None
    size: str | None
    availability: str


@dataclass(frozen=True, slots=True)
class ProductDetails:
    product_id: str
    title: str
    link: str
    description: str | None
    price_amount: Decimal | None
    currency: str | None
    availability: str
    color: str | None
    size: str | None
    # Units left to sell now (stock less what checkouts hold); None: not counted.
    left: int | None
    pictures: tuple[Picture, ...]
    variants: tuple[VariantChoice, ...]  # the group's rows, this one included; () alone
    posts: tuple[FrontPost, ...]  # without their products (this one)


def product_details(
    connection: Connection, product_id: str, accounts: Iterable[ShopAccount] = ()
) -> ProductDetails | None:
    p = t.products
    row = connection.execute(select(p).where(p.c.product_id == product_id)).first()
    if row is None:
        return None
    variants: tuple[VariantChoice, ...] = ()
    if row.item_group_id:
        variants = tuple(
            VariantChoice(v.product_id, v.color, v.size, v.availability)
            for v in connection.execute(
                select(p.c.product_id, p.c.color, p.c.size, p.c.availability)
                .where(p.c.item_group_id == row.item_group_id)
                .order_by(p.c.color, p.c.size, p.c.product_id)
            )
        )
    return ProductDetails(
        product_id=row.product_id,
        title=row.title,
        link=row.link,
        description=row.description,
        price_amount=row.price_amount,
        currency=row.currency,
        availability=row.availability,
        color=row.color,
        size=row.size,
        left=None if row.stock is None else max(0, row.stock - row.reserved),
        pictures=tuple(product_pictures(connection, row.image_link, row.additional_image_links)),
        variants=variants if len(variants) > 1 else (),
        posts=_posts_carrying(connection, product_id, accounts),
    )


def _posts_carrying(
    connection: Connection, product_id: str, accounts: Iterable[ShopAccount]
) -> tuple[FrontPost, ...]:
    """The newest SHOWN_POSTS shop posts naming the product, newest first (ties as the shop
    front orders them: views/shopfront.FRONT_ORDER)."""
    accounts = tuple(accounts)
    pp = t.post_products
    untimed = select(pp.c.post_id).where(pp.c.product_id == product_id, pp.c.created_at.is_(None))
    if connection.execute(untimed.limit(1)).first() is not None:
        return _every_post_carrying(connection, product_id, accounts)
    # Read from ix_post_products_newest at the product, newest first, until enough posts
    # are shown: a post naming the product twice comes twice, and posts the page does not
    # show (erased, another account's) are passed over, so a first read takes a few more.
    wanted = SHOWN_POSTS * 2
    while True:
        rows = connection.execute(_newest_carrying(product_id, accounts, wanted)).all()
        shown = list({(row.network, row.post_id): row for row in rows}.values())
        if len(shown) >= SHOWN_POSTS or len(rows) < wanted:
            return front_posts(connection, shown[:SHOWN_POSTS], {})
        wanted *= 4


def _newest_carrying(product_id: str, accounts: tuple[ShopAccount, ...], limit: int) -> Any:
    posts, pp = t.posts, t.post_products
    return (
        select(*POST_COLUMNS)
        .select_from(pp)
        .join(posts, (posts.c.network == pp.c.network) & (posts.c.post_id == pp.c.post_id))
        .where(
            pp.c.product_id == product_id,
            posts.c.text.is_not(None),
            # Joined to the product's post_products rows: no second look for one.
            *shoppable_conditions(posts, accounts=accounts, joined_to_products=True),
        )
        .order_by(pp.c.created_at.desc(), pp.c.network.desc(), pp.c.post_id.desc())
        .limit(limit)
    )


def _every_post_carrying(
    connection: Connection, product_id: str, accounts: tuple[ShopAccount, ...]
) -> tuple[FrontPost, ...]:
    """The same, read from every post naming the product: for rows written without their
    post's time (the migration gave the ones there were theirs)."""
    posts, pp = t.posts, t.post_products
    # The product's posts first (its index), then the newest of them. PostgreSQL, left to
    # itself, walked every post from the newest back until it met enough of this product's
    # (ix_posts_created): 129,000 posts and 233 ms for a product of older posts at 1,000,000
    # posts; MATERIALIZED keeps it from folding the product's rows into that walk.
    carrying = (
        select(pp.c.network, pp.c.post_id)
        .where(pp.c.product_id == product_id)
        .distinct()
        .cte("carrying")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    rows = connection.execute(
        select(*POST_COLUMNS)
        .join(
            carrying,
            (carrying.c.network == posts.c.network) & (carrying.c.post_id == posts.c.post_id),
        )
        .where(
            posts.c.text.is_not(None),
            *shoppable_conditions(posts, accounts=accounts, joined_to_products=True),
        )
        .order_by(posts.c.created_at.desc(), posts.c.network.desc(), posts.c.post_id.desc())
        .limit(SHOWN_POSTS)
    ).all()
    return front_posts(connection, rows, {})


def product_path(shop_slug: str, product_id: str) -> str:
    """The product's page on the shop front."""
    return f"/s/{shop_slug}/p/{quote(product_id, safe='')}"
