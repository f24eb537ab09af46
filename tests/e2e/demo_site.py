"""The demo shop served on loopback for browser tests that walk the whole site: built once
per module (it takes seconds), with a shopper's cart, wish list and an order in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import add_demo_sign_ins, run_demo
from hashcart.services.ingest import Ingestor
from hashcart.web import create_app
from tests.e2e.crawl import sign_in
from tests.loopback import LiveServer


@dataclass
class DemoSite:
    app: App
    url: str

    @property
    def slug(self) -> str:
        return self.app.settings.shop_slug


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    folder: Path = tmp_path_factory.mktemp("demo-site")
    clock = FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    app = open_app(
        Settings(database_url=f"sqlite:///{folder / 'demo.db'}", shop_name="Trailhead Coffee"),
        clock,
    )

    def ingest(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
        ingestor.ingest_lines(name, lines)

    run_demo(app, ingest)
    add_demo_sign_ins(app)
    with LiveServer(create_app(app)) as server:
        yield DemoSite(app, server.url)
    app.engine.dispose()


def shopper_with_everything(chromium: Any, site: DemoSite, email: str) -> None:
    """Give the demo shopper an order, a wish-list entry and cart lines, through the pages
    as they would: order what the demo put in the cart (on invoice), add two products from
    the shop front, and move one of them to the wish list."""
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, site.url, "/sign-in", email)
        page.goto(f"{site.url}/checkout")
        page.fill("input[name=name]", "Demo Shopper")
        page.fill("input[name=line1]", "4 Ridge Road")
        page.fill("input[name=postcode]", "80302")
        page.fill("input[name=city]", "Boulder")
        page.fill("input[name=country]", "US")
        page.check("input[name=payment_method][value=invoice]")
        page.click("button.place-order")
        page.wait_for_url("**/orders/*")
        for index in range(2):
            page.goto(f"{site.url}/s/{site.slug}")
            page.locator("form[action='/cart/add'] button[type=submit]").nth(index).click()
            page.wait_for_load_state()
        page.goto(f"{site.url}/cart")
        page.locator("form[action$='/move'] button").first.click()
        page.wait_for_load_state()
    finally:
        context.close()
