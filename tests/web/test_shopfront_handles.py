"""Issue 14: the shop front showed Bluesky authors as raw `did:plc:...` (Jetstream carries no
handles). It shows the handle the shop knows for the DID (recorded for the shop's own
accounts, or carried by a shopper's link) and keeps linking the post by its DID, on SQLite
and PostgreSQL; text that is no handle is never recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hashcart.domain.posts import Network
from hashcart.store.known_handles import NotAHandle, known_handles, remember_handle
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post
from tests.web.conftest import WebShop
from tests.web.shopfront_support import read_page

MUG = f"https://{HOST}/products/enamel-mug"
AT = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
OTHER_DID = "did:plc:other0000000000000000000"


def shop_post(author: str = SHOP_DID, rkey: str = "3mmbrand00001") -> bytes:
    return jetstream_post(author, rkey, f"Our mug {MUG}", links=(MUG,))


def card_text(web_shop: WebShop) -> str:
    [card] = read_page(web_shop.browser().get("/s/demo").text).cards
    return card.text


def test_a_bluesky_post_shows_the_handle_the_shop_knows_not_the_did(
    web_shop_any_db: WebShop,
) -> None:
    web_shop = web_shop_any_db
    web_shop.ingest([shop_post()])
    assert SHOP_DID in card_text(web_shop)  # nothing known yet: the DID stands in

    with web_shop.app.engine.begin() as connection:
        remember_handle(connection, "bluesky", SHOP_DID, "trailhead.coffee", AT)

    page = web_shop.browser().get("/s/demo").text
    [card] = read_page(page).cards
    assert "@trailhead.coffee" in card.text
    assert SHOP_DID not in card.text
    # The post's own link stays on the DID, which never changes.
    assert f"https://bsky.app/profile/{SHOP_DID}/post/3mmbrand00001" in card.links


def test_a_handle_that_changed_replaces_the_old_one(web_shop_any_db: WebShop) -> None:
    web_shop = web_shop_any_db
    web_shop.ingest([shop_post()])
    with web_shop.app.engine.begin() as connection:
        remember_handle(connection, "bluesky", SHOP_DID, "old.example", AT)
        remember_handle(connection, "bluesky", SHOP_DID, "@new.example", AT)
    text = card_text(web_shop)
    assert "@new.example" in text and "old.example" not in text


def test_a_linked_accounts_handle_is_one_the_shop_knows(web_shop_any_db: WebShop) -> None:
    web_shop = web_shop_any_db
    with web_shop.app.unit_of_work() as uow:
        repo = uow.repository
        repo.add_customer("ana@example.com", "Ana", AT)
        customer = repo.customer_id("ana@example.com")
        assert customer is not None
        repo.add_link(customer, Network.BLUESKY, OTHER_DID, "ana.example", AT)
    with web_shop.app.engine.connect() as connection:
        found = known_handles(connection, [("bluesky", OTHER_DID), ("bluesky", SHOP_DID)])
    assert found == {("bluesky", OTHER_DID): "ana.example"}


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "a\x00b.example",
        "<script>alert(1)</script>",
        "two words",
        "x" * 400,
        "évil\u202e.example",
        "line\nbreak",
    ],
    ids=["empty", "nul", "markup", "space", "overlong", "bidi", "newline"],
)
def test_text_that_is_no_handle_is_refused_and_nothing_is_kept(
    web_shop_any_db: WebShop, hostile: str
) -> None:
    web_shop = web_shop_any_db
    with web_shop.app.engine.begin() as connection, pytest.raises(NotAHandle):
        remember_handle(connection, "bluesky", SHOP_DID, hostile, AT)
    with web_shop.app.engine.connect() as connection:
        assert known_handles(connection, [("bluesky", SHOP_DID)]) == {}
