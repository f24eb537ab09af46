"""Shoppers' linked accounts at the merchant's store (issue 16): their store sessions, kept in
`store_customer_sessions` sealed with the token key (hashcart.secretbox) like every secret;
ports.StoreCustomerSessions."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from hashcart.ports import Clock, LinkedStoreAccount
from hashcart.secretbox import SecretBox, UnreadableSecret
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.statements import upsert

s = t.store_customer_sessions


class StoredCustomerSessions:
    def __init__(self, engine: Engine, clock: Clock, box: SecretBox) -> None:
        self.engine = engine
        self.clock = clock
        self.box = box

    def linked(self, store: str, customer_id: int) -> LinkedStoreAccount | None:
        with read_only_transaction(self.engine) as connection:
            row = connection.execute(
                select(s.c.store_email, s.c.linked_at).where(
                    s.c.store == store, s.c.customer_id == customer_id
                )
            ).first()
        return None if row is None else LinkedStoreAccount(store, row.store_email, row.linked_at)

    def session(self, store: str, customer_id: int) -> str | None:
        with read_only_transaction(self.engine) as connection:
            sealed = connection.scalar(
                select(s.c.secret_data).where(s.c.store == store, s.c.customer_id == customer_id)
            )
        if sealed is None:
            return None
        try:
            token = self.box.open(sealed).get("token")
        except UnreadableSecret:
            return None  # the key changed: as if never linked (they link again)
        return token if isinstance(token, str) and token else None

    def keep(self, store: str, customer_id: int, email: str, session: str) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(
                upsert(connection.dialect.name, s, ["store", "customer_id"]),
                {
                    "store": store,
                    "customer_id": customer_id,
                    "store_email": email[:320],
                    "secret_data": self.box.seal({"token": session}),
                    "linked_at": self.clock.now(),
                },
            )

    def forget(self, store: str, customer_id: int) -> bool:
        with write_transaction(self.engine) as connection:
            gone = connection.execute(
                delete(s).where(s.c.store == store, s.c.customer_id == customer_id)
            )
        return bool(gone.rowcount)
