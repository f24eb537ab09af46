"""Vendure (https://vendure.io), the open-source headless commerce server, as the merchant's
store: catalog and stock through its Admin API, handoffs through its Shop API (issue 16)."""

from hashcart.stores.vendure.store import VendureStore

__all__ = ["VendureStore"]
