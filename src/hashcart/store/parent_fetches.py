"""Parents asked of a network's API (`parent_fetches`), once each (ports.ParentFetches):
the live sink fetches the post a trigger replies to when it never came in by the stream,
and remembers the outcome so no parent is asked for twice."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, select, tuple_

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.repository import insert_ignoring

# Keys asked about in one statement (SQLite's limit on bound parameters is 32,766).
_CHUNK = 500


class StoredParentFetches:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def waiting_parents(self, limit: int) -> set[tuple[Network, str]]:
        triggers, fetched, stored = t.posts.alias("trigger"), t.parent_fetches, t.posts
        query = (
            select(triggers.c.network, triggers.c.parent_id)
            .where(
                triggers.c.parent_id.is_not(None),
                triggers.c.list_kind.is_not(None),
                ~select(t.actions.c.id)
                .where(
                    t.actions.c.network == triggers.c.network,
                    t.actions.c.trigger_post_id == triggers.c.post_id,
                )
                .exists(),
                ~select(stored.c.post_id)
                .where(
                    stored.c.network == triggers.c.network,
                    stored.c.post_id == triggers.c.parent_id,
                )
                .exists(),
                ~select(fetched.c.post_id)
                .where(
                    fetched.c.network == triggers.c.network,
                    fetched.c.post_id == triggers.c.parent_id,
                )
                .exists(),
            )
            .distinct()
            .limit(limit)
        )
        return {
            (Network(row.network), str(row.parent_id)) for row in self.connection.execute(query)
        }

    def asked_among(self, keys: Collection[tuple[Network, str]]) -> set[tuple[Network, str]]:
        fetched = t.parent_fetches
        # The keys as stored, back to the caller's own (so no stored name is parsed again).
        wanted = {(str(network), post_id): (network, post_id) for network, post_id in keys}
        pairs = sorted(wanted)
        asked: set[tuple[Network, str]] = set()
        for start in range(0, len(pairs), _CHUNK):
            rows = self.connection.execute(
                select(fetched.c.network, fetched.c.post_id).where(
                    tuple_(fetched.c.network, fetched.c.post_id).in_(pairs[start : start + _CHUNK])
                )
            )
            asked |= {wanted[(row.network, row.post_id)] for row in rows}
        return asked

    def record(self, network: Network, post_id: str, found: bool, at: datetime) -> None:
        self._record(network, post_id, "found" if found else "not_found", at)

    def record_unanswered(self, network: Network, post_id: str, at: datetime) -> None:
        self._record(network, post_id, "unanswered", at)

    def _record(self, network: Network, post_id: str, outcome: str, at: datetime) -> None:
        self.connection.execute(
            insert_ignoring(self.connection.dialect.name, t.parent_fetches.name),
            {"network": network, "post_id": post_id, "outcome": outcome, "fetched_at": at},
        )
