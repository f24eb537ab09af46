"""OAuth's records on the unit of work (store/oauth.StoredOAuth, ports.OAuthRecords), on a
SQLite file and on PostgreSQL: what services/oauth_links relies on, asked of the repository
directly (the linking flow itself is tests/oauth/, through the web app)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hashcart.domain.posts import Network
from hashcart.ports import PendingState, RegisteredClient, StoredTokens
from tests.harness import Shop

ANN, BOB = "ann@example.com", "bob@example.com"
SERVER = "https://mastodon.example"


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ANN, (Network.MASTODON, "https://mastodon.example/users/ann", "ann"))
    shop.customer(BOB)
    return shop


def _customer_id(shop: Shop, email: str) -> int:
    with shop.app.unit_of_work() as uow:
        found = uow.repository.customer_id(email)
    assert found is not None
    return found


def _add_state(shop: Shop, state_hash: str, customer_id: int, minutes: int = 10) -> None:
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        uow.oauth.add_state(
            state_hash,
            customer_id,
            "mastodon",
            SERVER,
            "sealed",
            now,
            now + timedelta(minutes=minutes),
        )


def test_a_state_is_taken_once_and_only_by_its_shopper_for_its_network(shop: Shop) -> None:
    ann, bob = _customer_id(shop, ANN), _customer_id(shop, BOB)
    _add_state(shop, "a" * 64, ann)

    with shop.app.unit_of_work() as uow:
        assert uow.oauth.take_state("a" * 64, bob, "mastodon") is None
        assert uow.oauth.take_state("a" * 64, ann, "x") is None
        taken = uow.oauth.take_state("a" * 64, ann, "mastodon")
    with shop.app.unit_of_work() as uow:
        again = uow.oauth.take_state("a" * 64, ann, "mastodon")

    assert taken == PendingState(
        ann, "mastodon", SERVER, "sealed", shop.clock.now() + timedelta(minutes=10)
    )
    assert again is None


def test_a_state_taken_in_a_unit_of_work_that_fails_is_still_there(shop: Shop) -> None:
    ann = _customer_id(shop, ANN)
    _add_state(shop, "b" * 64, ann)
    with pytest.raises(RuntimeError), shop.app.unit_of_work() as uow:
        assert uow.oauth.take_state("b" * 64, ann, "mastodon") is not None
        raise RuntimeError("the page failed after taking it")
    with shop.app.unit_of_work() as uow:
        assert uow.oauth.take_state("b" * 64, ann, "mastodon") is not None


def test_expired_states_are_forgotten_and_live_ones_kept(shop: Shop) -> None:
    ann = _customer_id(shop, ANN)
    _add_state(shop, "c" * 64, ann, minutes=1)
    _add_state(shop, "d" * 64, ann, minutes=30)
    with shop.app.unit_of_work() as uow:
        assert uow.oauth.forget_expired_states(shop.clock.now() + timedelta(minutes=5)) == 1
        assert uow.oauth.take_state("c" * 64, ann, "mastodon") is None
        assert uow.oauth.take_state("d" * 64, ann, "mastodon") is not None


def test_the_first_registration_with_a_server_wins(shop: Shop) -> None:
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        first = uow.oauth.add_client("mastodon", SERVER, "client-1", "sealed-1", now)
    with shop.app.unit_of_work() as uow:
        second = uow.oauth.add_client("mastodon", SERVER, "client-2", None, now)
        found = uow.oauth.find_client("mastodon", SERVER)
        elsewhere = uow.oauth.find_client("mastodon", "https://other.example")
    assert first == second == found == RegisteredClient("client-1", "sealed-1")
    assert elsewhere is None


def test_tokens_are_kept_per_link_replaced_on_a_new_sign_in_and_only_the_owner_s(
    shop: Shop,
) -> None:
    ann, bob = _customer_id(shop, ANN), _customer_id(shop, BOB)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        link_id = uow.oauth.link_id_of("mastodon", "https://mastodon.example/users/ann")
        assert link_id is not None
        assert uow.oauth.link_id_of("mastodon", "https://mastodon.example/users/nobody") is None
        uow.oauth.save_tokens(link_id, SERVER, "sealed-old", "read", None, now)
    with shop.app.unit_of_work() as uow:
        uow.oauth.save_tokens(link_id, SERVER, "sealed-new", "read write", now, now)
        mine = uow.oauth.tokens_of_link(ann, link_id)
        theirs = uow.oauth.tokens_of_link(bob, link_id)
    assert mine == StoredTokens("mastodon", SERVER, "sealed-new")
    assert theirs is None
