"""Sign-in under load: parallel guesses reach the password no more often than the limit
allows, and password hashes (64 MiB each) run only a few at a time, the rest told to come
back with 429 and Retry-After. Real Argon2 behind a wrapper that counts or holds it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from httpx import Response
from pwdlib import PasswordHash
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.web.passwords import Passwords
from tests.web.conftest import PASSWORD, Browser, WebShop

PARALLEL = 30
LIMIT = 5
# Only a bound on how long a broken test hangs; the passing path never waits for it.
STUCK_SECONDS = 30


class CountingHasher:
    """The real Argon2 hasher, counting the hashes it runs (a check against an unknown
    email runs `hash`, so it costs the same as a wrong password)."""

    def __init__(self) -> None:
        self._real = PasswordHash.recommended()
        self._lock = threading.Lock()
        self.runs = 0

    def _count(self) -> None:
        with self._lock:
            self.runs += 1

    def hash(self, password: str, /) -> str:
        self._count()
        return self._real.hash(password)

    def verify(self, password: str, hash: str, /) -> bool:
        self._count()
        return self._real.verify(password, hash)


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


def _in_parallel(posts: list[tuple[Browser, str, dict[str, str]]]) -> list[Response]:
    """Send every form at once: each thread has its browser's CSRF token ready, then all
    wait at one barrier and post together."""
    barrier = threading.Barrier(len(posts))
    answers: list[Response | None] = [None] * len(posts)

    def post(index: int, browser: Browser, path: str, data: dict[str, str]) -> None:
        fields = {"csrf_token": browser.csrf(), **data}
        barrier.wait(STUCK_SECONDS)
        answers[index] = browser.client.post(path, data=fields, follow_redirects=False)

    threads = [threading.Thread(target=post, args=(index, *job)) for index, job in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers), "a thread failed"
    return [answer for answer in answers if answer is not None]


@pytest.fixture
def limited_shop(database_url: str) -> Iterator[WebShop]:
    shop = WebShop(database_url, sign_in_account_limit=LIMIT, sign_in_address_limit=LIMIT)
    yield shop
    shop.close()


@pytest.mark.parametrize("who", ["one account from many addresses", "many accounts, one address"])
def test_parallel_wrong_passwords_are_checked_no_more_often_than_the_limit(
    limited_shop: WebShop, who: str
) -> None:
    limited_shop.browser().sign_up("ann@example.com")
    hasher = CountingHasher()
    # As many slots as guesses: only the attempt count may hold them back here.
    limited_shop.web.state.passwords = Passwords(hasher, concurrency=PARALLEL)
    if who == "one account from many addresses":
        posts = [(limited_shop.browser(f"10.0.0.{n}"), "ann@example.com") for n in range(PARALLEL)]
    else:
        posts = [
            (limited_shop.browser("10.0.1.1"), f"guest{n}@example.com") for n in range(PARALLEL)
        ]

    answers = _in_parallel(
        [
            (browser, "/sign-in", {"email": email, "password": "wrong password!"})
            for browser, email in posts
        ]
    )

    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {400, 429}, statuses  # every guess checked, or turned away
    # Each 400 is a guess that was checked and wrong; everyone else was turned away unchecked.
    assert statuses.count(400) <= LIMIT, statuses
    assert hasher.runs == statuses.count(400)
    window = limited_shop.app.settings.sign_in_window_minutes * 60
    for answer in answers:
        if answer.status_code == 429:
            assert "Too many failed sign-ins" in answer.text
            assert int(answer.headers["Retry-After"]) == window


def _reset_link(shop: WebShop, browser: Browser, email: str) -> str:
    browser.submit("/reset", {"email": email})
    with shop.app.engine.connect() as connection:
        text = connection.execute(
            select(t.outbox.c.text).where(
                t.outbox.c.account_id == email, t.outbox.c.reason == "password_reset"
            )
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
    deleter = shop.browser("10.0.2.8")  # signed in, about to delete the account
    deleter.sign_up("dan@example.com")

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
    busy_delete = deleter.submit("/account/delete", {"password": PASSWORD})
    for answer in (busy_sign_in, busy_sign_up, busy_reset, busy_delete):
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
