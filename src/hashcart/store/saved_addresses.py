"""The shopper's saved shipping address (issue 12): one per customer, written by the account
page and by a checkout that remembers its address, read where an order needs one that the
shopper does not type (a buy with a post) and to pre-fill the checkout form."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from hashcart.ports import Address
from hashcart.store import schema as t
from hashcart.store.orders import address_of, last_address
from hashcart.store.statements import upsert

_a = t.saved_addresses


def saved_address(connection: Connection, customer_id: int) -> Address | None:
    row = connection.execute(select(_a).where(_a.c.customer_id == customer_id)).first()
    return None if row is None else address_of(row)


def save_address(connection: Connection, customer_id: int, address: Address, at: datetime) -> None:
    """Save (or replace) the customer's address; the caller checked it (checkout.read_address)."""
    connection.execute(
        upsert(connection.dialect.name, _a, ["customer_id"]).values(
            customer_id=customer_id,
            ship_name=address.name,
            ship_line1=address.line1,
            ship_line2=address.line2 or None,
            ship_city=address.city,
            ship_postcode=address.postcode,
            ship_country=address.country,
            saved_at=at,
        )
    )


def shipping_address(connection: Connection, customer_id: int) -> Address | None:
    """Where an order the shopper does not type an address for ships: the saved address,
    else the latest order's, else None (a buy with a post then asks for one)."""
    return saved_address(connection, customer_id) or last_address(connection, customer_id)
