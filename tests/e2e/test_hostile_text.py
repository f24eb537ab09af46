"""Hostile text through the engine and onto every page, in a real browser: scripts, broken-out
attributes and javascript: links must show as inert text, and nothing may run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.harness import HOST
from tests.loopback import LiveServer
from tests.payloads import x_tweet
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

MUG = f"https://{HOST}/products/enamel-mug"
SCRIPT = "<script>window.pwned = 'script'</script>"
BREAKOUT = '"><img src=x onerror="window.pwned=\'img\'">'
JS_LINK = "javascript:window.pwned='link'"
PAGES = (
    "/s/demo",
    "/cart",
    "/account",
    "/merchant/posts",
    "/merchant/customers",
    "/merchant/catalog",
    "/merchant/outbox",
    "/merchant/live",
)


def _sign_in(page: Any, url: str, door: str, email: str) -> None:
    page.goto(f"{url}{door}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click(f"form[action='{door}'] button[type=submit]")
    page.wait_for_load_state()


def test_hostile_posts_handles_and_titles_are_shown_inert(
    live_shop: tuple[WebShop, LiveServer], page: Any
) -> None:
    shop, server = live_shop
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.products)
            .where(t.products.c.product_id == "mug")
            .values(title=f"Mug {SCRIPT} {BREAKOUT}")
        )
        connection.execute(
            update(t.products).where(t.products.c.product_id == "beans").values(link=JS_LINK)
        )
    handle = f"x{BREAKOUT}"
    shop.ingest(
        [
            x_tweet(
                "7001", "900", handle, f"New {SCRIPT} {BREAKOUT} {JS_LINK} {MUG}", links=(MUG,)
            ),
            x_tweet(
                "7002",
                "4004",
                f"sam{SCRIPT}",
                f"#cart {BREAKOUT}",
                reply_to="7001",
                minutes=1,
                hashtags=("cart",),
            ),
        ]
    )
    browser = shop.browser()
    browser.sign_up("sam@example.com")
    shop.link("sam@example.com", Network.X, "4004", f"sam{SCRIPT}")

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, server.url, "/sign-in", "sam@example.com")
    _sign_in(page, server.url, "/merchant/sign-in", MERCHANT_EMAIL)
    for path in PAGES:
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 200, path
        assert page.evaluate("window.pwned") is None, path
        assert page.locator("img[src='x']").count() == 0, path
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert not [href for href in hrefs if href.lower().startswith("javascript:")], path
    page.goto(f"{server.url}/s/demo")
    shown = page.inner_text("main")
    assert SCRIPT in shown  # shown as the text it is, not run
    assert BREAKOUT in shown
    page.goto(f"{server.url}/cart")
    assert SCRIPT in page.inner_text("main")
    assert dialogs == []
