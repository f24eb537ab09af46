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
    folder = SCREENSHOTS if os.environ.get("HASHCART_SAVE_SCREENSHOTS") == "1" else _scratch()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


from tests.e2e.demo_site import demo_site  # noqa: E402  (a fixture, shared by name)

__all__ = ["demo_site"]
