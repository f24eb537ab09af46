"""OAuth bookkeeping: the states of sign-ins under way, hashcart's own registrations as a
client (one per Mastodon server), and the tokens of linked accounts.

Everything secret arrives here already sealed (SecretBox); this module stores text. A state
is kept only as its SHA-256, so the database alone cannot finish anyone's sign-in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, delete, select

# The values are ports' (the use case reads them); named here as before.
from hashcart.ports import PendingState as PendingState
from hashcart.ports import RegisteredClient as RegisteredClient
from hashcart.ports import StoredTokens as StoredTokens
from hashcart.store import schema as t
from hashcart.store.repository import insert_ignoring, upsert

# states ------------------------------------------------------------------------------------


def add_state(
    connection: Connection,
    state_hash: str,
    customer_id: int,
    network: str,
    server: str | None,
    secret_data: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    add_state_to(
        connection,
        t.oauth_states,
        "customer_id",
        state_hash,
        customer_id,
        network,
        server,
        secret_data,
        created_at,
        expires_at,
    )


def take_state(
    connection: Connection, state_hash: str, customer_id: int, network: str
) -> PendingState | None:
    """Delete and return the customer's state for `network`: a state works once, and only
    for the shopper who started it (another shopper's callback finds nothing to take)."""
    return take_state_from(
        connection, t.oauth_states, "customer_id", state_hash, customer_id, network
    )


def forget_expired_states(connection: Connection, now: datetime) -> int:
    """Drop sign-ins nobody finished (a shopper who walked away leaves one behind)."""
    result = connection.execute(delete(t.oauth_states).where(t.oauth_states.c.expires_at <= now))
    return result.rowcount or 0


# The same for any table of sign-in states: shoppers' (`customer_id`) and the merchant's shop
# connects (`merchant_id`, store/shop_connections) keep the same columns but their owner.


def add_state_to(
    connection: Connection,
    states: Table,
    owner: str,
    state_hash: str,
    owner_id: int,
    network: str,
    server: str | None,
    secret_data: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    connection.execute(
        states.insert().values(
            {
                "state_hash": state_hash,
                owner: owner_id,
                "network": network,
                "server": server,
                "secret_data": secret_data,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )
    )


def take_state_from(
    connection: Connection, states: Table, owner: str, state_hash: str, owner_id: int, network: str
) -> PendingState | None:
    """Delete and return `owner_id`'s state for `network` (it works once, and only for the
    one who started it); PendingState.customer_id holds the owner's id."""
    row = connection.execute(
        delete(states)
        .where(
            states.c.state_hash == state_hash,
            states.c[owner] == owner_id,
            states.c.network == network,
        )
        .returning(
            states.c[owner],
            states.c.network,
            states.c.server,
            states.c.secret_data,
            states.c.expires_at,
        )
    ).first()
    if row is None:
        return None
    return PendingState(row[0], row.network, row.server, row.secret_data, row.expires_at)


# hashcart's client registrations --------------------------------------------------------------


def find_client(connection: Connection, network: str, server: str) -> RegisteredClient | None:
    clients = t.oauth_clients
    row = connection.execute(
        select(clients.c.client_id, clients.c.client_secret).where(
            clients.c.network == network, clients.c.server == server
        )
    ).first()
    return None if row is None else RegisteredClient(row.client_id, row.client_secret)


def add_client(
    connection: Connection,
    network: str,
    server: str,
    client_id: str,
    sealed_secret: str | None,
    at: datetime,
) -> RegisteredClient:
    """Keep a registration; when two sign-ins registered at once, the first one stored wins
    and both use it (the other registration is simply never used)."""
    connection.execute(
        insert_ignoring(connection.dialect.name, t.oauth_clients.name),
        {
            "network": network,
            "server": server,
            "client_id": client_id,
            "client_secret": sealed_secret,
            "created_at": at,
        },
    )
    stored = find_client(connection, network, server)
    assert stored is not None
    return stored


# linked accounts' tokens ------------------------------------------------------------------------


def link_id_of(connection: Connection, network: str, account_id: str) -> int | None:
    links = t.account_links
    found = connection.scalar(
        select(links.c.id).where(links.c.network == network, links.c.account_id == account_id)
    )
    return None if found is None else int(found)


def save_tokens(
    connection: Connection,
    link_id: int,
    server: str | None,
    secret_data: str,
    scope: str | None,
    expires_at: datetime | None,
    at: datetime,
) -> None:
    """Store (or replace, on a link made again) a linked account's sealed tokens."""
    connection.execute(
        upsert(connection.dialect.name, t.account_tokens, ["link_id"]),
        {
            "link_id": link_id,
            "server": server,
            "secret_data": secret_data,
            "scope": scope,
            "expires_at": expires_at,
            "created_at": at,
        },
    )


def tokens_of_link(connection: Connection, customer_id: int, link_id: int) -> StoredTokens | None:
    """The tokens of one of the customer's links (None: not theirs, or linked by code)."""
    links, tokens = t.account_links, t.account_tokens
    row = connection.execute(
        select(links.c.network, tokens.c.server, tokens.c.secret_data)
        .join(tokens, tokens.c.link_id == links.c.id)
        .where(links.c.id == link_id, links.c.customer_id == customer_id)
    ).first()
    return None if row is None else StoredTokens(row.network, row.server, row.secret_data)


class StoredOAuth:
    """ports.OAuthRecords on the unit of work's connection: the functions above, bound."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_state(
        self,
        state_hash: str,
        customer_id: int,
        network: str,
        server: str | None,
        secret_data: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        add_state(
            self.connection,
            state_hash,
            customer_id,
            network,
            server,
            secret_data,
            created_at,
            expires_at,
        )

    def take_state(self, state_hash: str, customer_id: int, network: str) -> PendingState | None:
        return take_state(self.connection, state_hash, customer_id, network)

    def forget_expired_states(self, now: datetime) -> int:
        return forget_expired_states(self.connection, now)

    def find_client(self, network: str, server: str) -> RegisteredClient | None:
        return find_client(self.connection, network, server)

    def add_client(
        self,
        network: str,
        server: str,
        client_id: str,
        sealed_secret: str | None,
        now: datetime,
    ) -> RegisteredClient:
        return add_client(self.connection, network, server, client_id, sealed_secret, now)

    def link_id_of(self, network: str, account_id: str) -> int | None:
        return link_id_of(self.connection, network, account_id)

    def save_tokens(
        self,
        link_id: int,
        server: str | None,
        secret_data: str,
        scope: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        save_tokens(self.connection, link_id, server, secret_data, scope, expires_at, now)

    def tokens_of_link(self, customer_id: int, link_id: int) -> StoredTokens | None:
        return tokens_of_link(self.connection, customer_id, link_id)
