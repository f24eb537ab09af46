"""Linking by one-time code in the engine (on SQLite and PostgreSQL): a post carrying
`#cartlink CODE`, from any source, links its author to the code's customer, applies what the
account asked for before, and confirms it the way the customer chose."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hashcart.domain.link_codes import parse_link_request
from hashcart.domain.posts import Network
from hashcart.services.link_codes import issue_link_code
from hashcart.store import schema as t
from tests.harness import HOST, Shop
from tests.payloads import (
    SHOP_DID,
    jetstream_post,
    mastodon_status,
    post_uri,
    x_tweet,
)

ALICE = "alice@example.com"
BOB = "bob@example.com"
ALICE_DID = "did:plc:alice0000000000000000000"
CAROL_DID = "did:plc:carol0000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"
BRAND = post_uri(SHOP_DID, "3mmbrand00001")


def brand_post() -> bytes:
    return jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {MUG}", links=(MUG,))


def link_post(did: str, rkey: str, text: str, minutes: float = 20) -> bytes:
    return jetstream_post(did, rkey, text, minutes=minutes)


def x_link_post(tweet_id: str, user_id: str, name: str, code: str, minutes: float = 20) -> bytes:
    text = f"#cartlink {code} linking my shop account"
    return x_tweet(tweet_id, user_id, name, text, minutes=minutes, hashtags=("cartlink",))


def code_for(shop: Shop, email: str) -> str:
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(email)
        assert customer_id is not None
        return issue_link_code(
            uow.repository, customer_id, shop.clock.now(), shop.app.settings.link_code_minutes
        )


def links(shop: Shop) -> list[tuple[str, str, str, str | None]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(
                t.customers.c.email,
                t.account_links.c.network,
                t.account_links.c.account_id,
                t.account_links.c.handle,
            )
            .join(t.customers, t.customers.c.id == t.account_links.c.customer_id)
            .order_by(t.account_links.c.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def code_used(shop: Shop, code: str) -> bool:
    with shop.app.engine.connect() as connection:
        used = connection.execute(
            select(t.link_codes.c.used_at).where(t.link_codes.c.code == code)
        ).scalar_one()
    return used is not None


def outbox_rows(shop: Shop) -> list[dict[str, Any]]:
    with shop.app.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(t.outbox))]


def set_notify_by(shop: Shop, email: str, notify_by: str) -> None:
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.customers).where(t.customers.c.email == email).values(notify_by=notify_by)
        )


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ALICE)
    shop.customer(BOB)
    return shop


def test_a_bluesky_post_with_the_code_links_its_author_and_confirms_in_reply(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    stats = shop.ingest([link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}")])

    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]  # Jetstream has no handle
    assert code_used(shop, code)
    assert stats.links == 1 and stats.link_codes_invalid == 0
    [message] = shop.outbox()
    assert message["reason"] == "linked"
    assert message["in_reply_to"] == post_uri(ALICE_DID, "3mmlink00001")
    assert message["account_id"] == ALICE_DID
    assert "linked" in message["text"] and code not in message["text"]


def test_an_x_post_links_too_and_the_code_may_be_written_loosely(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    loose = f"{code[:4].lower()}-{code[4:].lower()}"  # how a person might type it
    stats = shop.ingest([x_link_post("1701", "4242", "alice_x", loose)])

    assert links(shop) == [(ALICE, "x", "4242", "alice_x")]
    assert stats.links == 1
    assert shop.reasons() == ["linked"]


def test_a_mastodon_post_links_through_its_html_hashtag_markup(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    html = (
        '<p><a href="https://social.example/tags/cartlink" class="mention hashtag" rel="tag">'
        f"#<span>cartlink</span></a> {code}</p>"
    )
    account = "https://social.example/users/alice"
    shop.ingest([mastodon_status("1901", account, "alice", html, tags=("cartlink",))])

    assert links(shop) == [(ALICE, "mastodon", account, "alice")]


def test_linking_by_code_applies_the_accounts_waiting_requests(shop: Shop) -> None:
    reply = jetstream_post(CAROL_DID, "3mmcarol0001", "#cart", reply_to=BRAND, minutes=5)
    shop.ingest([brand_post(), reply])
    assert [p["status"] for p in shop.pending()] == ["waiting"]
    assert shop.reasons() == ["link_needed"]

    code = code_for(shop, BOB)
    shop.ingest([link_post(CAROL_DID, "3mmlink00002", f"#cartlink {code}")])

    assert shop.cart(BOB) == [("mug", 1)]
    assert [p["status"] for p in shop.pending()] == ["applied"]
    assert shop.reasons() == ["link_needed", "linked", "pending_applied"]


def test_a_link_and_a_cart_reply_in_one_batch_go_straight_to_the_cart(shop: Shop) -> None:
    code = code_for(shop, BOB)
    stats = shop.ingest(
        [
            brand_post(),
            jetstream_post(CAROL_DID, "3mmcarol0001", "#cart", reply_to=BRAND, minutes=25),
            link_post(CAROL_DID, "3mmlink00002", f"#cartlink {code}"),
        ]
    )

    assert shop.cart(BOB) == [("mug", 1)]
    assert shop.pending() == []
    assert sorted(shop.reasons()) == ["added", "linked"]
    assert stats.links == 1 and stats.actions.lines_added == 1


def test_an_expired_code_links_nothing_and_gets_no_reply(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    shop.clock.advance(timedelta(minutes=shop.app.settings.link_code_minutes + 1))
    stats = shop.ingest([link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}")])

    assert links(shop) == []
    assert not code_used(shop, code)
    assert stats.link_codes_invalid == 1 and stats.links == 0
    assert shop.outbox() == []


def test_a_used_code_does_not_link_a_second_account(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    shop.ingest([link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}")])
    stats = shop.ingest([link_post(CAROL_DID, "3mmlink00009", f"#cartlink {code}", minutes=21)])

    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]
    assert stats.link_codes_invalid == 1 and stats.links == 0
    assert shop.reasons() == ["linked"]


def test_a_wrong_or_missing_code_links_nothing_and_does_not_stop_the_batch(shop: Shop) -> None:
    code_for(shop, ALICE)
    stats = shop.ingest(
        [
            link_post(ALICE_DID, "3mmlink00001", "#cartlink ZZZZZZZZ"),
            link_post(ALICE_DID, "3mmlink00002", "#cartlink hello"),
            link_post(ALICE_DID, "3mmlink00003", "I love #cartlink"),
            brand_post(),
        ]
    )

    assert links(shop) == []
    assert stats.link_codes_invalid == 3
    assert shop.outbox() == [] and shop.dead_letters() == []


def test_a_link_post_before_its_code_exists_is_simply_invalid(shop: Shop) -> None:
    early = link_post(ALICE_DID, "3mmlink00001", "#cartlink K7Q2M9XD")
    assert shop.ingest([early]).link_codes_invalid == 1
    assert links(shop) == []


def test_an_account_linked_to_another_customer_stays_theirs(shop: Shop) -> None:
    shop.link(ALICE, Network.BLUESKY, ALICE_DID, "alice.bsky.social")
    code = code_for(shop, BOB)
    stats = shop.ingest([link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}")])

    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, "alice.bsky.social")]
    assert stats.links_refused == 1 and stats.links == 0
    assert not code_used(shop, code)  # Bob may still use it from another account
    assert shop.outbox() == []  # a reply would say in public that the account shops here


def test_the_same_link_post_delivered_again_changes_nothing(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    post = link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}")
    first = shop.ingest([post, post])
    again = shop.ingest([post])

    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]
    assert first.links == 1 and first.duplicates == 1
    assert again.duplicates == 1 and again.link_codes_invalid == 0
    assert shop.reasons() == ["linked"]


def test_the_first_post_to_use_a_code_wins_it_within_a_batch(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    stats = shop.ingest(
        [
            link_post(CAROL_DID, "3mmlink00002", f"#cartlink {code}", minutes=22),
            link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}", minutes=21),
        ]
    )

    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]
    assert stats.links == 1 and stats.link_codes_invalid == 1


def test_a_new_code_replaces_the_unused_old_one(shop: Shop) -> None:
    old = code_for(shop, ALICE)
    new = code_for(shop, ALICE)
    stats = shop.ingest([link_post(ALICE_DID, "3mmlink00001", f"#cartlink {old}")])
    assert stats.link_codes_invalid == 1
    shop.ingest([link_post(ALICE_DID, "3mmlink00002", f"#cartlink {new}", minutes=21)])
    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]


def test_the_shop_answers_to_its_configured_link_tags_only(database_url: str) -> None:
    shop = Shop(database_url, link_tags=("joinshop", "linkme"))
    shop.customer(ALICE)
    code = code_for(shop, ALICE)
    stats = shop.ingest(
        [
            link_post(ALICE_DID, "3mmlink00001", f"#cartlink {code}"),
            link_post(ALICE_DID, "3mmlink00002", f"#LinkMe {code}", minutes=21),
        ]
    )
    assert stats.links == 1 and stats.link_codes_invalid == 0
    assert links(shop) == [(ALICE, "bluesky", ALICE_DID, None)]


# Privacy: a linked shopper is told the way they chose ------------------------------------


def cart_reply_from_linked_alice(shop: Shop, notify_by: str) -> list[dict[str, Any]]:
    shop.link(ALICE, Network.BLUESKY, ALICE_DID, "alice.bsky.social")
    set_notify_by(shop, ALICE, notify_by)
    reply = jetstream_post(ALICE_DID, "3mmreply0001", "#cart", reply_to=BRAND, minutes=5)
    shop.ingest([brand_post(), reply])
    assert shop.cart(ALICE) == [("mug", 1)]
    return outbox_rows(shop)


def test_a_public_reply_shopper_is_answered_in_the_thread(shop: Shop) -> None:
    [row] = cart_reply_from_linked_alice(shop, "public_reply")
    assert (row["channel"], row["network"], row["account_id"]) == ("reply", "bluesky", ALICE_DID)


def test_a_private_message_shopper_gets_the_same_words_as_a_direct_message(shop: Shop) -> None:
    [row] = cart_reply_from_linked_alice(shop, "private_message")
    assert (row["channel"], row["network"], row["account_id"]) == ("private", "bluesky", ALICE_DID)
    assert row["reason"] == "added" and "Trailhead Enamel Mug" in row["text"]


def test_an_email_only_shopper_gets_no_public_reply_only_an_email(shop: Shop) -> None:
    [row] = cart_reply_from_linked_alice(shop, "email_only")
    assert (row["channel"], row["network"], row["account_id"]) == ("email", "email", ALICE)
    assert row["reason"] == "added"
    assert row["subject"] == "Added to your cart at hashcart demo shop"
    assert "Trailhead Enamel Mug" in row["text"]
    assert "by email only" in row["text"]
    assert not row["text"].startswith("@")


def test_an_email_only_shopper_linking_by_code_is_told_by_email_everything(shop: Shop) -> None:
    set_notify_by(shop, BOB, "email_only")
    reply = jetstream_post(CAROL_DID, "3mmcarol0001", "#cart", reply_to=BRAND, minutes=5)
    shop.ingest([brand_post(), reply])
    code = code_for(shop, BOB)
    shop.ingest([link_post(CAROL_DID, "3mmlink00002", f"#cartlink {code}")])

    rows = outbox_rows(shop)
    # The link_needed went out before we knew who Carol was: a public reply.
    assert [(r["reason"], r["channel"]) for r in rows] == [
        ("link_needed", "reply"),
        ("linked", "email"),
        ("pending_applied", "email"),
    ]
    assert {r["account_id"] for r in rows[1:]} == {BOB}


def test_which_product_questions_also_follow_the_preference(shop: Shop) -> None:
    shop.link(ALICE, Network.BLUESKY, ALICE_DID, "alice")
    set_notify_by(shop, ALICE, "private_message")
    beans = f"https://{HOST}/products/summit-roast"
    pair = jetstream_post(SHOP_DID, "3mmbrand00002", f"{MUG} {beans}", links=(MUG, beans))
    parent = post_uri(SHOP_DID, "3mmbrand00002")
    shop.ingest([pair, jetstream_post(ALICE_DID, "3mmr1", "#cart", reply_to=parent, minutes=5)])
    [row] = outbox_rows(shop)
    assert (row["reason"], row["channel"]) == ("which_product", "private")


def test_redelivery_does_not_email_twice(shop: Shop) -> None:
    cart_reply_from_linked_alice(shop, "email_only")
    shop.ingest([jetstream_post(ALICE_DID, "3mmreply0001", "#cart", reply_to=BRAND, minutes=5)])
    assert len(outbox_rows(shop)) == 1


# The grammar, on its own --------------------------------------------------------------------


def test_our_link_confirmation_never_carries_a_link_or_trigger_tag(shop: Shop) -> None:
    code = code_for(shop, ALICE)
    shop.ingest([x_link_post("1701", "4242", "cartlink", code)])  # a handle named like the tag
    [message] = shop.outbox()
    assert "#" not in message["text"]
    words = shop.app.shop().link_words
    assert parse_link_request(message["text"], None, words) is None
