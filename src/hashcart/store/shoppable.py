"""What a shoppable post is, in SQL: the one definition the shop front, the funnel (page, CSV,
API), the live view's post picker, the dashboard and the shop front's add-to-cart use.

A shoppable post is a stored post that
- carries a link on the shop's hosts (`has_shop_link`),
- is no reply that acts (`parent_id` is NULL: a trigger reply records its parent there),
- names at least one product the catalog knows (`post_products` rows: a link to an unknown
  product page is nothing to sell),
- and, when the setting `shop_accounts` names the shop's own accounts, was posted by one of
  them. With no accounts set, every post with a shop product link counts, whoever posted it.

The engine does not use this: a `#cart` reply to a stranger's post that carries one of the
shop's links still works. This only decides which posts the shop's pages show and count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t


def shoppable_conditions(
    posts: Any,
    *,
    network: str | None = None,
    accounts: Iterable[ShopAccount] = (),
    joined_to_products: bool = False,
) -> list[ColumnElement[bool]]:
    """WHERE conditions (to AND together) for the shoppable posts among `posts` (the posts
    table or an alias of it), only those of `network` when given, only those of `accounts`
    when there are any. `joined_to_products`: the query joins each post to its
    post_products rows already, which says it names a product (the check is left out)."""
    conditions: list[ColumnElement[bool]] = [
        posts.c.has_shop_link.is_(True),
        posts.c.parent_id.is_(None),
    ]
    if not joined_to_products:
        # An alias, so the subquery keeps its own FROM even when the outer query reads
        # post_products too (SQLAlchemy would otherwise correlate it away).
        found = t.post_products.alias("shoppable_product")
        conditions.append(
            select(found.c.position)
            .where(found.c.network == posts.c.network, found.c.post_id == posts.c.post_id)
            .exists()
        )
    if network is not None:
        conditions.append(posts.c.network == network)
    by_account = posted_by(posts, accounts)
    if by_account is not None:
        conditions.append(by_account)
    return conditions


def posted_by(posts: Any, accounts: Iterable[ShopAccount]) -> ColumnElement[bool] | None:
    """Posts by one of `accounts` (None when there are none: then nobody is singled out).

    Per network: the handle compared ignoring case (networks treat handles so), or the
    stable account id compared exactly. A network no account names matches nothing."""
    handles: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, set[str]] = defaultdict(set)
    for account in accounts:
        handles[account.network.value].add(account.account.lower())
        ids[account.network.value].add(account.account)
    if not ids:
        return None
    return or_(
        *(
            and_(
                posts.c.network == network,
                or_(
                    func.lower(posts.c.author_handle).in_(sorted(handles[network])),
                    posts.c.author_id.in_(sorted(ids[network])),
                ),
            )
            for network in sorted(ids)
        )
    )
