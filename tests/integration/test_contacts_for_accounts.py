"""`contacts_for_accounts` answers a settle step's thousand shoppers in one statement (on
PostgreSQL one of fixed text for every network, store/keyed_reads): the linked
accounts with their customer's contact, none of the others, whatever the mix of networks,
repeats, quotes and non-ASCII ids; on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.domain.messages import NotifyBy
from hashcart.domain.posts import Network
from hashcart.ports import Contact

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def app(database_url: str) -> App:
    return open_app(Settings(database_url=database_url), FixedClock(NOW))


def test_linked_accounts_get_their_contact_and_the_others_none(app: App) -> None:
    linked = {
        (Network.X, "1001"): "ada@example.com",
        (Network.MASTODON, "https://m.example/users/o'brien"): "ob@example.com",
        (Network.BLUESKY, "did:plc:ünïcode"): "bo@example.com",
    }
    with app.unit_of_work() as uow:
        repo = uow.repository
        for (network, account), email in linked.items():
            repo.add_customer(email, None, NOW)
            customer = repo.customer_id(email)
            assert customer is not None
            repo.add_link(customer, network, account, None, NOW)
    asked = [
        *linked,
        (Network.X, "1001"),  # asked twice
        (Network.X, "2002"),  # not linked
        (Network.MASTODON, "1001"),  # linked on another network only
        *((Network.X, str(3000 + n)) for n in range(1200)),  # more than a chunk
    ]
    with app.unit_of_work() as uow:
        found = uow.repository.contacts_for_accounts(asked)
        ids = {email: uow.repository.customer_id(email) for email in linked.values()}
    assert found == {
        key: Contact(ids[email] or 0, email, NotifyBy.PUBLIC_REPLY) for key, email in linked.items()
    }
