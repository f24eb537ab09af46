"""The demo's mail page: the emails the demo shop queued, readable at /demo/mail while
`hashcart demo --serve` runs, and nowhere else (404)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hashcart.views.demo_mail import Piece, pieces_of
from hashcart.web import create_app
from tests.cli_runner import run_cli
from tests.web.conftest import PASSWORD, Browser, WebShop

PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SHOP_URL = "http://127.0.0.1:8000"


@pytest.fixture
def demo_browser(web_shop: WebShop) -> Iterator[Browser]:
    """A browser on the app as `hashcart demo --serve` makes it."""
    client = TestClient(create_app(web_shop.app, demo=True), base_url="http://127.0.0.1")
    with client:
        yield Browser(client, web_shop.app.engine)


def test_a_reset_email_is_read_on_the_demo_mail_page_and_its_link_works_once(
    web_shop: WebShop, demo_browser: Browser
) -> None:
    demo_browser.sign_up("ann@example.com")
    sent = demo_browser.submit("/reset", {"email": "ann@example.com"})
    assert 'href="/demo/mail"' in sent.text  # the demo says where the email went

    mail = demo_browser.get("/demo/mail")
    assert mail.status_code == 200
    assert mail.headers["cache-control"] == "no-store"
    assert "Reset your Trailhead Coffee password" in mail.text
    assert "To ann@example.com" in mail.text
    link = re.search(r'<a href="(/reset/[\w-]+)">http://127\.0\.0\.1:8000/reset/', mail.text)
    assert link, mail.text

    choose = demo_browser.get(link.group(1))
    assert choose.status_code == 200
    changed = demo_browser.submit(link.group(1), {"password": PASSWORD + " again"})
    assert changed.status_code == 303

    used = demo_browser.get(link.group(1), headers=PAGE)
    assert used.status_code == 404
    assert "This link has expired" in used.text
    assert 'href="/reset">Ask for a new reset link' in used.text


def test_the_demo_pages_link_the_mail_page(demo_browser: Browser) -> None:
    assert 'href="/demo/mail">Demo mail' in demo_browser.get("/sign-in").text


def test_there_is_no_mail_page_outside_the_demo(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    browser.submit("/reset", {"email": "ann@example.com"})
    assert browser.get("/demo/mail").status_code == 404
    page = browser.get("/demo/mail", headers=PAGE)
    assert page.status_code == 404
    assert "Reset your" not in page.text
    assert "/demo/mail" not in browser.get("/sign-in").text
    sent = browser.submit("/reset", {"email": "ann@example.com"})
    assert "/demo/mail" not in sent.text


def test_an_empty_mailbox_says_how_to_fill_it(demo_browser: Browser) -> None:
    page = demo_browser.get("/demo/mail")
    assert page.status_code == 200
    assert "No emails yet" in page.text


def test_only_the_shops_own_addresses_become_links() -> None:
    text = (
        f"Choose one here: {SHOP_URL}/reset/abc_DEF-1.\n"
        "Elsewhere: https://evil.example/reset/abc and javascript:alert(1) "
        f"and {SHOP_URL}.evil.example/x and {SHOP_URL}@evil.example/"
    )
    pieces = pieces_of(text, SHOP_URL + "/")
    links = [piece for piece in pieces if piece.href is not None]
    assert links == [Piece(f"{SHOP_URL}/reset/abc_DEF-1", href="/reset/abc_DEF-1")]
    assert "".join(piece.text for piece in pieces) == text  # nothing lost or reordered


@pytest.mark.parametrize("text", ["", "no links at all", f"{SHOP_URL}", "\x00\ud800 <b>"])
def test_pieces_keep_every_character(text: str) -> None:
    assert "".join(piece.text for piece in pieces_of(text, SHOP_URL)) == text


def test_what_a_stranger_wrote_is_escaped_on_the_mail_page(
    web_shop: WebShop, demo_browser: Browser
) -> None:
    from hashcart.ports import Email
    from hashcart.services.mail import queue_email

    with web_shop.app.unit_of_work() as uow:
        queue_email(
            uow.repository,
            Email(
                to="<img src=x onerror=alert(1)>@example.com",
                subject="<script>alert(1)</script>",
                text=f'Your "order" <b>mug</b>: {SHOP_URL}/orders/1"><script>x</script>',
                reason="order_placed",
                dedupe_key="hostile",
            ),
            web_shop.clock.now(),
        )
    page = demo_browser.get("/demo/mail").text
    assert "<script>" not in page and "<img src=x" not in page and "<b>mug" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="/orders/1">' in page


def test_hashcart_demo_serve_serves_the_mail_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashcart.cli.demo as demo_command

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(demo_command, "serve_web", lambda *args, **kwargs: served.append(kwargs))
    with socket.socket() as probe:  # a free loopback port, for the check before building
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli(["demo", "--serve", "--port", str(port)], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert served and served[0]["demo"] is True
