"""Sign-in under load: password hashes (64 MiB each) run only a few at a time, the rest
told to come back with 429 and Retry-After. Real Argon2 behind a wrapper that holds it."""

from __future__ import annotations

import re
import threading

from httpx import Response
from pwdlib import PasswordHash
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.web.passwords import Passwords
from tests.web.conftest import PASSWORD, Browser, WebShop

# Only a bound on how long a broken test hangs; the passing path never waits for it.
STUCK_SECONDS = 30


class GatedHasher:
    """The real Argon2 hasher, whose checks say they have started and then wait for the gate:
    while they wait, they hold their hashing slots."""

    def __init__(self) -> None:
        self._real = PasswordHash.recommended()
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()

    def hash(self, password: str, /) -> str:
        return self._real.hash(password)

    def verify(self, password: str, hash: str, /) -> bool:
        self.started.release()
        assert self.gate.wait(STUCK_SECONDS)
        return self._real.verify(password, hash)


def _reset_link(shop: WebShop, browser: Browser, email: str) -> str:
    browser.submit("/reset", {"email": email})
    with shop.app.engine.connect() as connection:
        text = connection.execute(
            select(t.outbox.c.text).where(t.outbox.c.account_id == email)
        ).scalar_one()
    found = re.search(r"(/reset/\S+)", text)
    assert found
    return found.group(1)


def test_when_every_hashing_slot_is_taken_password_forms_get_429_with_retry_after_at_once(
    web_shop_any_db: WebShop,
) -> None:
    shop = web_shop_any_db
    hasher = GatedHasher()
    shop.web.state.passwords = Passwords(hasher, concurrency=2)
    for email in ("ann@example.com", "bob@example.com"):
        shop.browser().sign_up(email)
    reset_path = _reset_link(shop, shop.browser(), "ann@example.com")

    # Two sign-ins take both slots and hold them, checking their passwords.
    holders: list[Response] = []

    def sign_in(browser: Browser, email: str) -> None:
        holders.append(browser.sign_in(email))

    threads = [
        threading.Thread(target=sign_in, args=(shop.browser(f"10.0.2.{n}"), email))
        for n, email in enumerate(("ann@example.com", "bob@example.com"))
    ]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert hasher.started.acquire(timeout=STUCK_SECONDS), "a sign-in never reached the hasher"

    # Everyone else who needs a hash is told to come back, without a hash being run.
    busy_sign_in = shop.browser("10.0.2.9").sign_in("ann@example.com")
    busy_sign_up = shop.browser().submit(
        "/sign-up", {"email": "cat@example.com", "name": "Cat", "password": PASSWORD}
    )
    busy_reset = shop.browser().submit(reset_path, {"password": "a brand new password"})
    for answer in (busy_sign_in, busy_sign_up, busy_reset):
        assert answer.status_code == 429, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert "Try again in a moment" in answer.text
    assert 'value="ann@example.com"' in busy_sign_in.text  # the form again, as typed
    assert 'value="cat@example.com"' in busy_sign_up.text
    assert not hasher.started.acquire(blocking=False)  # no third check began

    hasher.gate.set()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in holders] == [303, 303]

    # With the slots free, the same forms go through: the busy answers cost nothing (no
    # failure counted, no account half-made, the reset link still good).
    assert shop.browser("10.0.2.9").sign_in("ann@example.com").status_code == 303
    assert shop.browser().sign_up("cat@example.com").status_code == 303
    assert (
        shop.browser().submit(reset_path, {"password": "a brand new password"}).status_code == 303
    )
