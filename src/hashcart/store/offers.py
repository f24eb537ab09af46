"""Offers and their loads (ports.OfferRecords), in one open transaction.

Exactly-once is the tables' unique constraints: one offer per tag's normal form, one load
per (offer, account) and per (offer, customer); a load is redeemed by the first order
whose compare-and-set finds it unredeemed."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, and_, case, exists, func, or_, select, update

from hashcart.domain.offers import Offer, OfferTerms
from hashcart.domain.triggers import normalize_tag
from hashcart.ports import OfferCounts, OfferLoad, OfferTagTaken
from hashcart.store import schema as t
from hashcart.store.statements import dialect_insert

__all__ = ["StoredOffers"]


class StoredOffers:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name

    def _insert(self, table: Table) -> Any:
        return dialect_insert(self._dialect, table)

    # --- the merchant's offers ---

    def add(self, terms: OfferTerms, at: datetime) -> Offer:
        key = normalize_tag(terms.tag)
        taken = self.connection.execute(
            select(t.offers.c.tag).where(t.offers.c.tag_key == key)
        ).first()
        if taken is not None:
            raise OfferTagTaken(f"offer tag {terms.tag!r} is taken by the offer #{taken.tag}")
        values = {
            "tag": terms.tag,
            "tag_key": key,
            "percent_off": terms.percent,
            "amount_off": terms.amount,
            "currency": terms.currency,
            "product_ids": None if terms.product_ids is None else json.dumps(terms.product_ids),
            "load_limit": terms.limit,
            "expires_at": terms.expires_at,
            "paused": False,
            "created_at": at,
        }
        new_id = self.connection.execute(
            self._insert(t.offers).on_conflict_do_nothing().returning(t.offers.c.id), values
        ).scalar()
        if new_id is None:  # a twin command added the tag meanwhile
            raise OfferTagTaken(f"offer tag {terms.tag!r} is taken")
        found = self.find(new_id)
        assert found is not None
        return found

    def find(self, offer_id: int) -> Offer | None:
        row = self.connection.execute(select(t.offers).where(t.offers.c.id == offer_id)).first()
        return None if row is None else _offer(row._mapping)

    def catalog_currencies(self) -> set[str]:
        rows = self.connection.execute(
            select(t.products.c.currency)
            .where(t.products.c.price_amount.is_not(None), t.products.c.currency.is_not(None))
            .distinct()
        )
        return {str(currency) for currency in rows.scalars()}

    def all(self) -> list[OfferCounts]:
        loads = t.offer_loads
        counted = (
            select(
                loads.c.offer_id,
                func.sum(case((loads.c.status == "loaded", 1), else_=0)).label("loads"),
                func.sum(case((loads.c.status == "pending", 1), else_=0)).label("pending"),
                func.count(loads.c.redeemed_order_id).label("redemptions"),
            )
            .group_by(loads.c.offer_id)
            .subquery()
        )
        discounted = (
            select(t.orders.c.offer_id, func.sum(t.orders.c.discount_amount).label("off"))
            .where(t.orders.c.offer_id.is_not(None))
            .group_by(t.orders.c.offer_id)
            .subquery()
        )
        rows = self.connection.execute(
            select(
                t.offers,
                func.coalesce(counted.c.loads, 0).label("n_loads"),
                func.coalesce(counted.c.pending, 0).label("n_pending"),
                func.coalesce(counted.c.redemptions, 0).label("n_redemptions"),
                func.coalesce(discounted.c.off, 0).label("n_off"),
            )
            .outerjoin(counted, counted.c.offer_id == t.offers.c.id)
            .outerjoin(discounted, discounted.c.offer_id == t.offers.c.id)
            .order_by(t.offers.c.created_at.desc(), t.offers.c.id.desc())
        ).all()
        return [
            OfferCounts(
                _offer(row._mapping),
                int(row.n_loads),
                int(row.n_pending),
                int(row.n_redemptions),
                Decimal(row.n_off).quantize(Decimal("0.01")),
            )
            for row in rows
        ]

    def set_paused(self, offer_id: int, paused: bool) -> bool:
        result = self.connection.execute(
            update(t.offers).where(t.offers.c.id == offer_id).values(paused=paused)
        )
        return result.rowcount == 1

    def listened_tags(self) -> list[str]:
        return list(
            self.connection.execute(
                select(t.offers.c.tag)
                .where(t.offers.c.paused.is_(False))
                .order_by(t.offers.c.created_at, t.offers.c.id)
            ).scalars()
        )

    def closed_tags(self, at: datetime) -> list[str]:
        o, loads = t.offers.c, t.offer_loads
        loaded = (
            select(func.count())
            .where(loads.c.offer_id == o.id, loads.c.status == "loaded")
            .scalar_subquery()
        )
        over = or_(
            and_(o.expires_at.is_not(None), o.expires_at <= at),
            and_(o.load_limit.is_not(None), loaded >= o.load_limit),
        )
        return list(
            self.connection.execute(
                select(o.tag).where(o.paused.is_(False), over).order_by(o.created_at, o.id)
            ).scalars()
        )

    def by_tags(self, tags: Iterable[str]) -> dict[str, Offer]:
        keys = {normalize_tag(tag) for tag in tags}
        if not keys:
            return {}
        rows = self.connection.execute(select(t.offers).where(t.offers.c.tag_key.in_(keys)))
        return {row.tag_key: _offer(row._mapping) for row in rows}

    # --- loads ---

    def lock(self, offer_ids: Collection[int]) -> None:
        if not offer_ids:
            return
        # FOR UPDATE is left out of SQLite's SQL (its BEGIN IMMEDIATE lets one writer in).
        self.connection.execute(
            select(t.offers.c.id)
            .where(t.offers.c.id.in_(sorted(offer_ids)))
            .order_by(t.offers.c.id)
            .with_for_update()
        ).all()

    def loads_of_accounts(
        self, offer_ids: Collection[int], accounts: Collection[tuple[str, str]]
    ) -> dict[tuple[int, str, str], OfferLoad]:
        if not offer_ids or not accounts:
            return {}
        loads = t.offer_loads
        ids = sorted({account for _, account in accounts})
        rows = self.connection.execute(
            select(loads).where(
                loads.c.offer_id.in_(sorted(offer_ids)), loads.c.account_id.in_(ids)
            )
        )
        wanted = set(accounts)
        found = {}
        for row in rows:
            load = _load(row._mapping)
            if (load.network, load.account_id) in wanted:
                found[(load.offer_id, load.network, load.account_id)] = load
        return found

    def loads_of_customers(
        self, offer_ids: Collection[int], customer_ids: Collection[int]
    ) -> set[tuple[int, int]]:
        if not offer_ids or not customer_ids:
            return set()
        loads = t.offer_loads
        rows = self.connection.execute(
            select(loads.c.offer_id, loads.c.customer_id).where(
                loads.c.offer_id.in_(sorted(offer_ids)),
                loads.c.customer_id.in_(sorted(customer_ids)),
            )
        )
        return {(row.offer_id, row.customer_id) for row in rows}

    def loaded_counts(self, offer_ids: Collection[int]) -> dict[int, int]:
        if not offer_ids:
            return {}
        loads = t.offer_loads
        rows = self.connection.execute(
            select(loads.c.offer_id, func.count())
            .where(loads.c.offer_id.in_(sorted(offer_ids)), loads.c.status == "loaded")
            .group_by(loads.c.offer_id)
        )
        return {row[0]: int(row[1]) for row in rows}

    def add_load(
        self,
        *,
        offer_id: int,
        network: str,
        account_id: str,
        customer_id: int | None,
        status: str,
        trigger_post_id: str,
        parent_post_id: str | None,
        posted_at: datetime,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "offer_id": offer_id,
            "network": network,
            "account_id": account_id,
            "customer_id": customer_id,
            "status": status,
            "trigger_post_id": trigger_post_id,
            "parent_post_id": parent_post_id,
            "posted_at": posted_at,
            "loaded_at": at if status == "loaded" else None,
            "expires_at": expires_at,
        }
        # Either unique constraint (the account's, the customer's) makes it a no-op.
        added = self.connection.execute(
            self._insert(t.offer_loads).on_conflict_do_nothing().returning(t.offer_loads.c.id),
            values,
        ).scalar()
        return added is not None

    def pending_of_account(self, network: str, account_id: str) -> list[OfferLoad]:
        loads = t.offer_loads
        rows = self.connection.execute(
            select(loads)
            .where(
                loads.c.network == network,
                loads.c.account_id == account_id,
                loads.c.status == "pending",
            )
            .order_by(loads.c.posted_at, loads.c.id)
        )
        return [_load(row._mapping) for row in rows]

    def settle_pending(
        self, load_id: int, status: str, customer_id: int | None, at: datetime
    ) -> bool:
        loads = t.offer_loads
        values: dict[str, Any] = {"status": status}
        condition = and_(loads.c.id == load_id, loads.c.status == "pending")
        if status == "loaded":
            values |= {"customer_id": customer_id, "loaded_at": at}
            # Not when the customer loaded the offer through another account already.
            other = loads.alias("other")
            condition = and_(
                condition,
                ~select(other.c.id)
                .where(other.c.offer_id == loads.c.offer_id, other.c.customer_id == customer_id)
                .exists(),
            )
        result = self.connection.execute(update(loads).where(condition).values(values))
        return result.rowcount == 1

    def unredeemed(
        self, customer_id: int, at: datetime | None = None
    ) -> list[tuple[OfferLoad, Offer]]:
        loads = t.offer_loads
        query = (
            select(loads, *[c.label(f"o_{c.name}") for c in t.offers.columns])
            .join(t.offers, t.offers.c.id == loads.c.offer_id)
            .where(
                loads.c.customer_id == customer_id,
                loads.c.status == "loaded",
                loads.c.redeemed_order_id.is_(None),
            )
            .order_by(loads.c.loaded_at, loads.c.id)
        )
        if at is not None:
            query = query.where(~_held_by_a_buy(loads.c.id, at))
        rows = self.connection.execute(query)
        found = []
        for row in rows:
            mapping = row._mapping
            offer_values = {c.name: mapping[f"o_{c.name}"] for c in t.offers.columns}
            found.append((_load(mapping), _offer(offer_values)))
        return found

    def redeem(self, load_id: int, order_id: int, at: datetime) -> bool:
        loads = t.offer_loads
        result = self.connection.execute(
            update(loads)
            .where(and_(loads.c.id == load_id, loads.c.redeemed_order_id.is_(None)))
            .values(redeemed_order_id=order_id, redeemed_at=at)
        )
        return result.rowcount == 1


def _held_by_a_buy(load_id: Any, at: datetime) -> Any:
    """A buy request's quote holds the load: confirmed (being paid for), or open with its
    window not passed at `at` (an open request past it is expired, whether or not the sweep
    wrote so yet)."""
    b = t.buy_requests.c
    return exists().where(
        b.offer_load_id == load_id,
        or_(b.status == "confirmed", and_(b.status == "open", b.expires_at > at)),
    )


def _offer(row: Any) -> Offer:
    products = row["product_ids"]
    return Offer(
        id=row["id"],
        tag=row["tag"],
        percent=None if row["percent_off"] is None else Decimal(row["percent_off"]),
        amount=None if row["amount_off"] is None else Decimal(row["amount_off"]),
        currency=row["currency"],
        product_ids=None if products is None else tuple(json.loads(products)),
        limit=row["load_limit"],
        expires_at=row["expires_at"],
        paused=bool(row["paused"]),
        created_at=row["created_at"],
    )


def _load(row: Any) -> OfferLoad:
    return OfferLoad(
        id=row["id"],
        offer_id=row["offer_id"],
        network=row["network"],
        account_id=row["account_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        trigger_post_id=row["trigger_post_id"],
        parent_post_id=row["parent_post_id"],
        posted_at=row["posted_at"],
        expires_at=row["expires_at"],
        redeemed_order_id=row["redeemed_order_id"],
    )
