"""The shop's own accounts connected by OAuth from the console (issue 14): the merchant's
sign-ins under way (`shop_connect_states`, the state kept as its SHA-256), which account is
connected per network (`shop_connections`), and the sealed sessions the network's parts
read (`network_sessions`), written in the same transaction as the Networks settings.

Everything secret arrives sealed (SecretBox); this module stores text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from hashcart.ports import PendingState
from hashcart.store import schema as t
from hashcart.store.oauth import add_state_to, take_state_from
from hashcart.store.statements import upsert


@dataclass(frozen=True)
class ShopConnection:
    """The shop's account connected on one network."""

    network: str
    account_id: str
    handle: str | None
    server: str | None
    scope: str | None
    connected_at: datetime


def add_state(
    connection: Connection,
    state_hash: str,
    merchant_id: int,
    network: str,
    server: str | None,
    secret_data: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    add_state_to(
        connection,
        t.shop_connect_states,
        "merchant_id",
        state_hash,
        merchant_id,
        network,
        server,
        secret_data,
        created_at,
        expires_at,
    )


def take_state(
    connection: Connection, state_hash: str, merchant_id: int, network: str
) -> PendingState | None:
    """Delete and return the merchant's state for `network` (its `customer_id` is the
    merchant's id here): it works once, and only for the merchant who started it."""
    return take_state_from(
        connection, t.shop_connect_states, "merchant_id", state_hash, merchant_id, network
    )


def forget_expired_states(connection: Connection, now: datetime) -> int:
    states = t.shop_connect_states
    return connection.execute(delete(states).where(states.c.expires_at <= now)).rowcount or 0


def save(connection: Connection, connected: ShopConnection) -> None:
    """The network's connected account, replacing the one before."""
    connection.execute(
        upsert(connection.dialect.name, t.shop_connections, ["network"]),
        {
            "network": connected.network,
            "account_id": connected.account_id,
            "handle": connected.handle,
            "server": connected.server,
            "scope": connected.scope,
            "connected_at": connected.connected_at,
        },
    )


def connections(connection: Connection) -> dict[str, ShopConnection]:
    """Every connected account, by network."""
    table = t.shop_connections
    return {
        row.network: ShopConnection(
            row.network, row.account_id, row.handle, row.server, row.scope, row.connected_at
        )
        for row in connection.execute(select(table))
    }


def forget(connection: Connection, network: str) -> bool:
    table = t.shop_connections
    return bool(connection.execute(delete(table).where(table.c.network == network)).rowcount)


def keep_session(connection: Connection, name: str, sealed: str, now: datetime) -> None:
    """A network's sealed session of the shop account (what its sender reads and refreshes)."""
    connection.execute(
        upsert(connection.dialect.name, t.network_sessions, ["name"]),
        {"name": name, "secret_data": sealed, "updated_at": now},
    )


def read_session(connection: Connection, name: str) -> str | None:
    sessions = t.network_sessions
    return connection.scalar(select(sessions.c.secret_data).where(sessions.c.name == name))


def forget_session(connection: Connection, name: str) -> None:
    sessions = t.network_sessions
    connection.execute(delete(sessions).where(sessions.c.name == name))
