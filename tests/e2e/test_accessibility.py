"""axe-core on every page of each role: the demo shop crawled as a shopper, as its merchant
and signed out, at a 390x844 phone and a 1366x900 laptop; no serious or critical violation
may remain (issue 14 found contrast, a scrollable region without focus, empty table headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.demo import DEMO_MERCHANT_EMAIL
from hashcart.synthetic import demo_shoppers
from tests.e2e.axe import axe_script, serious_violations
from tests.e2e.crawl import crawl, sign_in
from tests.e2e.demo_site import DemoSite, shopper_with_everything

SCREENS = [(390, 844), (1366, 900)]


@pytest.fixture(scope="module")
def site(chromium: Any, demo_site: DemoSite) -> Iterator[DemoSite]:
    shopper_with_everything(chromium, demo_site, demo_shoppers()[0].email)
    yield demo_site


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
@pytest.mark.parametrize("role", ["visitor", "shopper", "merchant"])
def test_axe_finds_nothing_serious_on_any_page_of_the_role(
    chromium: Any, site: DemoSite, role: str, width: int, height: int
) -> None:
    script = axe_script()
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        if role == "shopper":
            sign_in(page, site.url, "/sign-in", demo_shoppers()[0].email)
            starts = [
                f"/s/{site.slug}",
                "/cart",
                "/wishlist",
                "/checkout",
                "/orders",
                "/account",
                "/account/welcome",
            ]
        elif role == "merchant":
            sign_in(page, site.url, "/merchant/sign-in", DEMO_MERCHANT_EMAIL)
            starts = ["/merchant"]
        else:
            starts = [f"/s/{site.slug}", "/sign-in", "/sign-up", "/reset", "/merchant/sign-in"]
        found = {
            visit.url.removeprefix(site.url): serious_violations(page, script)
            for visit in crawl(page, site.url, starts)
        }
    finally:
        context.close()
    assert len(found) >= 5, found
    bad = {url: violations for url, violations in found.items() if violations}
    assert not bad, "\n".join(f"{url}: {line}" for url, lines in bad.items() for line in lines)
