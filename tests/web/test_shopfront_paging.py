"""The shop front's pages read by key (issue 14, pages that stay fast on a big shop): its
links lead from page to page by cursor (`?after=`, `?before=`), `?page=N` links made before
keep working, and its count comes from the funnel's kept figures less the erased posts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.views.funnel_keeping import refresh
from hashcart.views.shopfront import count_front_posts, count_shoppable_posts
from tests.payloads import SHOP_DID, jetstream_delete
from tests.web.conftest import WebShop
from tests.web.shopfront_support import read_page
from tests.web.test_shopfront import MUG, bluesky_post, front

POSTS = 30  # 12 a page: three pages, the last of six


def _numbers(web_shop: WebShop, path: str) -> list[int]:
    return [int(card.text.split("Post number ")[1].split(".")[0]) for card in front(web_shop, path)]


def _link(web_shop: WebShop, path: str, rel: str) -> str | None:
    html = web_shop.browser().get(path).text
    found = re.search(rf'href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _shop(web_shop: WebShop, posts: int = POSTS) -> None:
    # Two posts in the same second on every minute: ties the key order settles.
    web_shop.ingest(
        [
            bluesky_post(f"3mmbrand{n:05}", f"Post number {n}.", MUG, minutes=n // 2)
            for n in range(posts)
        ]
    )


def test_older_and_newer_links_walk_every_post_once_in_order(web_shop_any_db: WebShop) -> None:
    _shop(web_shop_any_db)
    seen: list[int] = []
    path: str | None = "/s/demo"
    paths = []
    while path is not None:
        paths.append(path)
        seen += _numbers(web_shop_any_db, path)
        path = _link(web_shop_any_db, path, "next")

    assert len(paths) == 3
    assert all(path.startswith("/s/demo?after=") for path in paths[1:])
    assert sorted(seen, reverse=True) == list(range(POSTS - 1, -1, -1))
    assert len(seen) == POSTS
    # Back from the last page: the same pages, newest last.
    back = _link(web_shop_any_db, paths[2], "prev")
    assert back is not None and back.startswith("/s/demo?before=")
    assert _numbers(web_shop_any_db, back) == _numbers(web_shop_any_db, paths[1])
    newest = _link(web_shop_any_db, back, "prev")
    assert newest is not None
    assert _numbers(web_shop_any_db, newest) == _numbers(web_shop_any_db, "/s/demo")
    assert _link(web_shop_any_db, newest, "prev") is None


def test_old_page_number_links_show_the_pages_the_cursors_lead_to(web_shop: WebShop) -> None:
    _shop(web_shop)
    second = _link(web_shop, "/s/demo", "next")
    assert second is not None
    third = _link(web_shop, second, "next")
    assert third is not None

    assert _numbers(web_shop, "/s/demo?page=2") == _numbers(web_shop, second)
    assert _numbers(web_shop, "/s/demo?page=3") == _numbers(web_shop, third)
    assert "page 3 of 3" in web_shop.browser().get("/s/demo?page=3").text
    # From an old link the pager goes on by key.
    assert _link(web_shop, "/s/demo?page=2", "next") == third
    assert web_shop.browser().get("/s/demo?page=4").status_code == 404


def test_an_add_to_cart_form_on_a_keyed_page_comes_back_to_it(web_shop: WebShop) -> None:
    _shop(web_shop)
    browser = web_shop.browser()
    browser.sign_up("sam@example.com")
    second = _link(web_shop, "/s/demo", "next")
    assert second is not None

    page = read_page(browser.get(second).text)

    assert {card.forms[0].fields["next"] for card in page.cards} == {second}


@pytest.mark.parametrize("query", ["after=not-a-cursor", "before=W10", "after=" + "A" * 3000])
def test_a_cursor_the_front_did_not_give_is_not_found(web_shop: WebShop, query: str) -> None:
    _shop(web_shop, 13)
    response = web_shop.browser().get(f"/s/demo?{query}")
    assert response.status_code == 404
    assert "There is no such page of this shop." in response.text


def test_a_cursor_past_the_oldest_post_is_not_found(web_shop: WebShop) -> None:
    _shop(web_shop, 13)
    last = _link(web_shop, "/s/demo", "next")
    assert last is not None
    web_shop.ingest([jetstream_delete(SHOP_DID, "3mmbrand00000", minutes=20)])

    assert web_shop.browser().get(last).status_code == 404


def test_the_count_is_the_kept_figure_less_the_erased_posts(web_shop_any_db: WebShop) -> None:
    _shop(web_shop_any_db, 5)
    web_shop_any_db.ingest([jetstream_delete(SHOP_DID, "3mmbrand00003", minutes=20)])
    engine = web_shop_any_db.app.engine
    now = web_shop_any_db.clock.now()
    with write_transaction(engine) as connection:
        refresh(connection, now)  # the kept figures fresh: nothing waits to be recounted

    with read_only_transaction(engine) as connection:
        assert count_front_posts(connection, now) == count_shoppable_posts(connection) == 4
    assert web_shop_any_db.browser().get("/s/demo/count").json() == {"total": 4}

    # It is the kept figure that is read: move it and the count moves with it.
    with write_transaction(engine) as connection:
        connection.execute(
            update(t.post_funnel_totals)
            .where(t.post_funnel_totals.c.network == "bluesky")
            .values(posts=t.post_funnel_totals.c.posts + 100)
        )
    assert web_shop_any_db.browser().get("/s/demo/count").json() == {"total": 104}
    assert "104 shoppable posts" in web_shop_any_db.browser().get("/s/demo").text


def test_the_count_is_counted_from_the_rows_while_changes_wait(web_shop: WebShop) -> None:
    _shop(web_shop, 3)
    with write_transaction(web_shop.app.engine) as connection:
        refresh(connection, web_shop.clock.now())
    web_shop.ingest([bluesky_post("3mmbrand09999", "Post number 99.", MUG, minutes=30)])

    # A change waits in post_funnel_changes: the kept figures cannot say yet.
    assert web_shop.browser().get("/s/demo/count").json() == {"total": 4}


def test_a_product_page_shows_its_newest_posts_once_each(web_shop_any_db: WebShop) -> None:
    """The product's own posts, newest first, SHOWN_POSTS of them, each once even when it
    names the product twice; posts of other products are not among them."""
    from hashcart.views.product_page import SHOWN_POSTS, product_details
    from tests.web.test_shopfront import BEANS

    posts = [
        bluesky_post(f"3mmbrand{n:05}", f"Post number {n}.", MUG, minutes=n) for n in range(14)
    ]
    posts.append(bluesky_post("3mmbrandtwice", "Post number 14.", MUG, MUG, minutes=14))
    posts.append(bluesky_post("3mmbrandbeans", "Post number 15.", BEANS, minutes=15))
    web_shop_any_db.ingest(posts)
    with read_only_transaction(web_shop_any_db.app.engine) as connection:
        details = product_details(connection, "mug")
    assert details is not None
    shown = [int(post.text.split("Post number ")[1].split(".")[0]) for post in details.posts]
    assert shown == list(range(14, 14 - SHOWN_POSTS, -1))


def test_deep_page_numbers_find_their_page_on_the_kept_index_past_erased_posts(
    web_shop_any_db: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?page=N` deep in the front finds where its page starts on the kept figures' index
    (entries only), passing over erased posts, one of them in the same second as the last
    post of page 1: the same posts and links as the pages read by OFFSET."""
    from hashcart.views import shopfront

    _shop(web_shop_any_db, 40)  # two posts a minute: 27 and 26 share minute 13
    erased = (39, 26, 10)
    web_shop_any_db.ingest(
        [jetstream_delete(SHOP_DID, f"3mmbrand{n:05}", minutes=30) for n in erased]
    )
    with write_transaction(web_shop_any_db.app.engine) as connection:
        refresh(connection, web_shop_any_db.clock.now())
    pages = ["/s/demo?page=2", "/s/demo?page=3", "/s/demo?page=4"]

    def seen() -> list[tuple[list[int], str | None]]:
        return [
            (_numbers(web_shop_any_db, path), _link(web_shop_any_db, path, "next"))
            for path in pages
        ]

    by_offset = seen()
    assert by_offset[0][0] == list(range(25, 13, -1))  # 37 posts: 38-27 on the first page
    assert by_offset[2][0] == [0]
    keys: list[object] = []
    found_key = shopfront._kept_key_before

    def spied(*args: object, **kwargs: object) -> object:
        keys.append(found_key(*args, **kwargs))  # type: ignore[arg-type]
        return keys[-1]

    monkeypatch.setattr(shopfront, "OFFSET_ROWS_READ", 0)
    monkeypatch.setattr(shopfront, "_kept_key_before", spied)

    assert seen() == by_offset
    assert len(keys) == 6 and None not in keys  # each page read twice
    assert web_shop_any_db.browser().get("/s/demo?page=5").status_code == 404
