"""Browser tests: the real app served by uvicorn on loopback, driven by headless Chromium
(Debian's `chromium`) through Playwright. Without a Chromium they skip, saying why."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LiveServer
from tests.peers.fake_stripe.fixture import LocalStripe
from tests.web.conftest import WebShop

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / "hashcart-screenshots"


@pytest.fixture
def stripe_live_shop(tmp_path: Path, localstripe: LocalStripe) -> Iterator[tuple[WebShop, str]]:
    """A shop served on loopback that takes cards through Stripe (localstripe)."""
    shop = WebShop(
        f"sqlite:///{tmp_path / 'e2e.db'}",
        stripe_secret_key=localstripe.secret_key,
        stripe_publishable_key=localstripe.publishable_key,
        stripe_api_base=localstripe.url,
    )
    with LiveServer(shop.web) as server:
        yield shop, server.url
    shop.close()


@pytest.fixture
def live_shop(tmp_path: Path) -> Iterator[tuple[WebShop, LiveServer]]:
    shop = WebShop(f"sqlite:///{tmp_path / 'e2e.db'}")
    with LiveServer(shop.web) as server:
        yield shop, server
    shop.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Take a screenshot; `make screenshots` (HASHCART_SAVE_SCREENSHOTS=1) keeps it under
    docs/screenshots/ for the README, other runs under the temp folder, so that running the
    tests never changes the checkout."""
    keep = os.environ.get("HASHCART_SAVE_SCREENSHOTS") == "1"
    folder = SCREENSHOTS if keep else _scratch()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if keep:
        small_png(path)
    return path


def small_png(path: Path) -> None:
    """The screenshot made small for the repository: 256 colours (a page's flat colours lose
    nothing visible) and Pillow's optimised PNG, so each stays well under 100 KB."""
    from PIL import Image

    with Image.open(path) as taken:
        reduced = taken.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


# The widths every README screenshot is taken at: a phone and a laptop.
SCREENSHOT_SCREENS = {"390": (390, 844), "1366": (1366, 900)}


def screenshots_at_both_widths(page: Any, url: str, name: str) -> None:
    """`url` at a 390x844 phone and a 1366x900 laptop, saved as `<name>-390` and
    `<name>-1366`; neither may scroll sideways."""
    from tests.e2e.crawl import horizontal_overflow

    for label, (width, height) in SCREENSHOT_SCREENS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state()
        assert horizontal_overflow(page) == 0, (url, width)
        screenshot(page, f"{name}-{label}", full_page=False)


from tests.e2e.demo_site import demo_site  # noqa: E402  (a fixture, shared by name)

__all__ = ["demo_site"]
