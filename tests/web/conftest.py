"""Web tests: the real app on a real database, driven through HTTP like a browser would."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from hashcart.store import accounts
from hashcart.web import create_app
from hashcart.web.passwords import hash_password
from tests.harness import Shop
from tests.web.sign_up_support import forget_sign_up_email, sign_up_link

PASSWORD = "correct horse battery"
MERCHANT_EMAIL = "owner@shop.example"
PRICES = {"mug": Decimal("18.00"), "beans": Decimal("24.50"), "kettle": Decimal("69.00")}


@functools.cache
def _password_hash() -> str:
    """Argon2 is slow on purpose (about 0.1 s a hash): hash the shared password once."""
    return hash_password(PASSWORD)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One browser: its own cookies, forms sent with the token the page gave it."""

    def __init__(self, client: TestClient, engine: Engine | None = None) -> None:
        self.client = client
        self.engine = engine  # the shop's database, where sign-up emails wait

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.client.get(path, **kwargs)

    def csrf(self, area: str = "shop") -> str:
        page = "/merchant/sign-in" if area == "merchant" else "/sign-in"
        found = _CSRF.search(self.client.get(page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def submit(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """POST a form as the page would: with this browser's CSRF token."""
        area = "merchant" if path.startswith("/merchant") else "shop"
        fields = {"csrf_token": self.csrf(area), **(data or {})}
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(path, data=fields, **kwargs)

    def sign_up(self, email: str, name: str = "Sam Shopper") -> Response:
        """Sign up as a person would: the form, then the emailed link's button. The answer
        that made the account and signed this browser in (303, with the session cookie)."""
        sent = self.submit("/sign-up", {"email": email, "name": name, "password": PASSWORD})
        assert sent.status_code == 200 and "Check your email" in sent.text, sent.text
        assert self.engine is not None, "this browser does not know the shop's database"
        response = self.submit(sign_up_link(self.engine, email))
        assert response.status_code == 303, response.text
        forget_sign_up_email(self.engine, email)
        return response

    def sign_in(self, email: str, password: str = PASSWORD) -> Response:
        return self.submit("/sign-in", {"email": email, "password": password})

    def merchant_sign_in(self, email: str = MERCHANT_EMAIL, password: str = PASSWORD) -> Response:
        return self.submit("/merchant/sign-in", {"email": email, "password": password})


class WebShop(Shop):
    """The engine's test shop (priced), served by the web app, with a merchant account."""

    def __init__(self, database_url: str, **settings: Any) -> None:
        settings.setdefault("shop_name", "Trailhead Coffee")
        super().__init__(database_url, **settings)
        with self.app.engine.begin() as connection:
            from sqlalchemy import update

            from hashcart.store import schema as t

            for product_id, price in PRICES.items():
                connection.execute(
                    update(t.products)
                    .where(t.products.c.product_id == product_id)
                    .values(price_amount=price, currency="USD")
                )
            accounts.add_merchant(connection, MERCHANT_EMAIL, _password_hash(), self.clock.now())
        self.web = create_app(self.app)
        self._clients: list[TestClient] = []

    def browser(self, address: str = "127.0.0.1") -> Browser:
        client = TestClient(self.web, base_url="http://127.0.0.1", client=(address, 50000))
        self._clients.append(client)
        return Browser(client, self.app.engine)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.app.engine.dispose()


@pytest.fixture
def web_shop(tmp_path: Any) -> Iterator[WebShop]:
    """The web shop on a fresh SQLite file (the embedded default)."""
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}")
    yield shop
    shop.close()


@pytest.fixture
def web_shop_any_db(database_url: str) -> Iterator[WebShop]:
    """The web shop on each database hashcart supports (SQLite and PostgreSQL)."""
    shop = WebShop(database_url)
    yield shop
    shop.close()
