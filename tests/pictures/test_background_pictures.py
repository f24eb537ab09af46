"""Issue 14: `hashcart serve` (and `hashcart listen`) fetch the catalog's new pictures in the
background, one at a time, so a feed imported in the console shows its pictures on the
product page without `hashcart catalog images`; fetches that fail in a row wait longer and
longer; private addresses stay refused (the same fetcher as the command)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.services.images import FETCH_BACKOFF, ImagesReport, PictureFetch
from tests.pictures.support import picture_server
from tests.pictures.test_picture_pages import _PICTURE, HEAD, shop_at, statuses
from tests.web.cart_support import text_of
from tests.web.conftest import WebShop


@pytest.fixture
def shop(tmp_path: Any) -> Iterator[WebShop]:
    made = shop_at(f"sqlite:///{tmp_path / 'pictures.db'}")
    yield made
    made.close()


def test_an_imported_feeds_picture_appears_on_the_product_page_by_the_background_fetch(
    shop: WebShop,
) -> None:
    fetch = shop.app.start_picture_fetch()  # what `hashcart serve` starts beside the web app
    try:
        with picture_server() as server:
            feed = "\n".join(
                [
                    HEAD,
                    f"mug,Trailhead Enamel Mug,https://shop.example/products/enamel-mug,"
                    f"18.00 USD,in_stock,{server}/photo.jpg,,Holds 350 ml",
                    f"beans,Summit Roast Beans 1kg,https://shop.example/products/summit-roast,"
                    f"24.50 USD,in_stock,{server}/to-private,,",
                ]
            )
            browser = shop.browser()
            assert browser.merchant_sign_in().status_code == 303
            answer = browser.submit(
                "/merchant/catalog/import",
                files={"feed": ("feed.csv", feed.encode(), "text/csv")},
            )
            assert answer.status_code == 200, answer.text
            assert "Pictures are fetched in the background" in text_of(answer)
            # Waits on the fetch's state (every picture that waited is done), not on time.
            assert fetch.wait_settled(timeout=60)
        page = shop.browser().get("/s/demo/p/mug")
        found = _PICTURE.search(page.text)
        assert found and found.group(2) == "Trailhead Enamel Mug"
        picture = shop.browser().get(f"/images/{found.group(1)}/800")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"
        assert server not in page.text  # hashcart's copy, never the source
        # A redirect to a private address is refused in the background as by the command.
        assert statuses(shop) == {"photo.jpg": "ready", "to-private": "failed"}
    finally:
        fetch.stop()
    assert not fetch.running


def test_fetches_that_fail_in_a_row_wait_longer_and_a_success_resets_it() -> None:
    answers = [
        RuntimeError("database away"),
        ImagesReport(failed=[("https://a.example/1.jpg", "the server answered 503")]),
        ImagesReport(failed=[("https://a.example/2.jpg", "the server answered 503")]),
        ImagesReport(ready=1, waiting=3),
        ImagesReport(),
    ]

    def fetch_next() -> ImagesReport:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fetch = PictureFetch(fetch_next, every=60)
    delays = [fetch.step() for _ in range(5)]
    plain = [FETCH_BACKOFF.plain_delay(n) for n in (1, 2, 3)]
    for delay, most in zip(delays[:3], plain, strict=True):
        assert most / 2 <= delay <= most
    assert plain == [10.0, 20.0, 40.0]
    assert delays[3] == 0.0  # one done and more wait: the next at once, one at a time
    assert delays[4] == 60  # nothing waits: look again after `every`
    assert fetch.failures == 0
