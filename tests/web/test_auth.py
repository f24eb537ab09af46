"""Shoppers and merchants: sign up, sign in, sign out, reset by emailed link, rate limits,
CSRF and the cookie flags."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hashcart.store import schema as t
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop
from tests.web.sign_up_support import sign_up_link
from tests.web.test_field_errors import beside


def _outbox_emails(shop: WebShop) -> list[tuple[str, str, str]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.account_id, t.outbox.c.subject, t.outbox.c.text)
            .where(t.outbox.c.channel == "email", t.outbox.c.reason == "password_reset")
            .order_by(t.outbox.c.id)
        ).all()
    return [(row.account_id, row.subject, row.text) for row in rows]


def test_sign_up_signs_in_with_a_session_cookie_that_is_httponly_and_lax(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    response = browser.sign_up("ann@example.com")
    # Issue 14: sign-up lands on the prompt to link a social account, then on to the cart.
    assert response.headers["location"] == "/account/welcome?next=%2Fcart"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hc_session=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http on loopback
    assert "Sign out" in browser.get("/sign-in").text


def test_session_cookie_is_secure_over_tls(web_shop: WebShop) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web_shop.web, base_url="https://127.0.0.1")
    page = client.get("/sign-up")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/sign-up",
        data={"email": "tls@example.com", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response.headers
    made = client.post(
        sign_up_link(web_shop.app.engine, "tls@example.com"),
        data={"csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "Secure" in made.headers["set-cookie"]


def test_passwords_are_stored_as_argon2_hashes(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    with web_shop.app.engine.connect() as connection:
        stored = connection.execute(select(t.customers.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_bad_sign_up_re_renders_the_form_with_the_message_and_what_was_typed(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    response = browser.submit(
        "/sign-up", {"email": "not-an-email", "name": "Ann <b>", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Enter an email address" in response.text
    assert 'value="not-an-email"' in response.text
    assert 'value="Ann &lt;b&gt;"' in response.text
    short = browser.submit("/sign-up", {"email": "ann@example.com", "password": "short"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.text
    assert 'value="ann@example.com"' in short.text


def test_an_email_signs_up_once(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    again = web_shop.browser().submit(
        "/sign-up", {"email": "ann@example.com", "password": PASSWORD + " other"}
    )
    assert again.status_code == 200
    with web_shop.app.engine.connect() as connection:
        shoppers = connection.execute(select(t.customers.c.email)).scalars().all()
        waiting = connection.execute(select(t.sign_up_requests.c.email)).scalars().all()
    assert (shoppers, waiting) == (["ann@example.com"], [])
    assert web_shop.browser().sign_in("ann@example.com").status_code == 303  # password kept


def _answer(response: Any) -> tuple[int, str]:
    """What the sign-up form's answer shows, the address and any CSRF token taken out."""
    text = re.sub(r"\S+@example\.com", "EMAIL", response.text)
    return response.status_code, re.sub(r'name="csrf_token" value="[^"]+"', "TOKEN", text)


def test_sign_up_answers_the_same_whether_the_email_has_an_account(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser()
    taken = browser.submit("/sign-up", {"email": "ann@example.com", "password": PASSWORD})
    free = browser.submit("/sign-up", {"email": "bob@example.com", "password": PASSWORD})
    assert _answer(taken) == _answer(free)
    assert "Check your email" in taken.text
    assert "set-cookie" not in taken.headers and "set-cookie" not in free.headers
    assert "hc_session" not in browser.client.cookies

    emails = _emails_to(web_shop, "ann@example.com", "bob@example.com")
    # The owner is told, and how to sign in or reset; the new address gets its link.
    [(owner_subject, owner_text)] = emails["ann@example.com"]
    assert owner_subject == "Your Trailhead Coffee account"
    assert "has one already" in owner_text and "/sign-in" in owner_text and "/reset" in owner_text
    assert "/sign-up/" not in owner_text
    [(new_subject, new_text)] = emails["bob@example.com"]
    assert new_subject == "Confirm your email for Trailhead Coffee"
    assert "/sign-up/" in new_text


def test_a_stranger_trying_an_address_again_and_again_sends_its_owner_one_note_an_hour(
    web_shop: WebShop,
) -> None:
    web_shop.browser().sign_up("ann@example.com")
    for _ in range(3):
        web_shop.browser().submit("/sign-up", {"email": "ann@example.com", "password": PASSWORD})
    assert len(_emails_to(web_shop, "ann@example.com")["ann@example.com"]) == 1
    web_shop.clock.advance(timedelta(hours=1))
    web_shop.browser().submit("/sign-up", {"email": "ann@example.com", "password": PASSWORD})
    assert len(_emails_to(web_shop, "ann@example.com")["ann@example.com"]) == 2


def test_no_account_is_made_until_the_emailed_link_is_followed_and_then_once(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    browser.submit("/sign-up", {"email": "bob@example.com", "name": "Bob", "password": PASSWORD})
    assert browser.sign_in("bob@example.com").status_code == 400  # no account yet
    link = sign_up_link(web_shop.app.engine, "bob@example.com")
    shown = browser.get(link)
    assert shown.status_code == 200 and "Create my account" in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert browser.sign_in("bob@example.com").status_code == 400  # opening it makes nothing
    made = browser.submit(link)
    assert (made.status_code, made.headers["location"]) == (303, "/account/welcome?next=%2Fcart")
    assert made.cookies["hc_session"]
    again = web_shop.browser().submit(link)
    assert again.status_code == 404 and "This link has expired" in again.text
    assert web_shop.browser().get(link).status_code == 404


def test_sign_up_links_expire_after_a_day(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.submit("/sign-up", {"email": "bob@example.com", "password": PASSWORD})
    link = sign_up_link(web_shop.app.engine, "bob@example.com")
    web_shop.clock.advance(timedelta(hours=24, seconds=1))
    assert browser.submit(link).status_code == 404
    assert browser.sign_in("bob@example.com").status_code == 400


def test_a_forged_or_hostile_sign_up_link_makes_nothing(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    for token in ("forged", "x" * 5000, "%00", "%ff%fe", "<script>"):
        assert browser.get(f"/sign-up/{token}").status_code == 404
        assert browser.submit(f"/sign-up/{token}").status_code == 404
    with web_shop.app.engine.connect() as connection:
        assert connection.execute(select(t.customers.c.id)).first() is None


def test_the_sign_up_link_needs_the_forms_csrf_token(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.submit("/sign-up", {"email": "bob@example.com", "password": PASSWORD})
    link = sign_up_link(web_shop.app.engine, "bob@example.com")
    assert browser.client.post(link, follow_redirects=False).status_code == 403
    assert browser.sign_in("bob@example.com").status_code == 400


def test_a_customer_the_shop_had_without_a_password_is_claimed_only_by_the_link(
    web_shop: WebShop,
) -> None:
    web_shop.customer("cat@example.com")  # made by the merchant: no password yet
    browser = web_shop.browser()
    browser.submit("/sign-up", {"email": "cat@example.com", "password": PASSWORD})
    assert browser.sign_in("cat@example.com").status_code == 400
    assert browser.submit(sign_up_link(web_shop.app.engine, "cat@example.com")).status_code == 303
    assert web_shop.browser().sign_in("cat@example.com").status_code == 303


def test_sign_up_emails_are_withheld_from_staff(web_shop: WebShop) -> None:
    from hashcart.store.outbox_text import text_for_staff

    web_shop.browser().submit("/sign-up", {"email": "bob@example.com", "password": PASSWORD})
    with web_shop.app.engine.connect() as connection:
        row = connection.execute(select(t.outbox).where(t.outbox.c.reason == "sign_up")).one()
    assert "/sign-up/" not in text_for_staff(row.channel, row.reason, row.text)


def _emails_to(shop: WebShop, *addresses: str) -> dict[str, list[tuple[str, str]]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.account_id, t.outbox.c.subject, t.outbox.c.text, t.outbox.c.reason)
            .where(t.outbox.c.channel == "email", t.outbox.c.account_id.in_(addresses))
            .order_by(t.outbox.c.id)
        ).all()
    found: dict[str, list[tuple[str, str]]] = {address: [] for address in addresses}
    for row in rows:
        # The first sign-up's own link is not what these tests look at.
        if row.reason != "sign_up" or row.account_id != "ann@example.com":
            found[row.account_id].append((row.subject, row.text))
    return found


def test_sign_in_and_out(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser()
    wrong = browser.sign_in("ann@example.com", "wrong password!")
    assert wrong.status_code == 400
    assert "do not match" in wrong.text
    assert 'value="ann@example.com"' in wrong.text
    right = browser.sign_in("ann@example.com")
    assert right.status_code == 303
    assert browser.get("/cart", follow_redirects=False).status_code != 303
    out = browser.submit("/sign-out")
    assert out.status_code == 303
    assert browser.get("/cart", follow_redirects=False).headers["location"].startswith("/sign-in")


def test_signing_out_ends_the_session_on_the_server(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser()
    token = browser.sign_in("ann@example.com").cookies["hc_session"]
    browser.submit("/sign-out")
    replay = web_shop.browser()
    replay.client.cookies.set("hc_session", token)
    assert replay.get("/cart", follow_redirects=False).status_code == 303


def test_sign_in_is_rate_limited_per_account(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    for attempt in range(5):
        browser = web_shop.browser(f"127.0.0.{attempt + 2}")
        assert browser.sign_in("ann@example.com", "wrong password!").status_code == 400
    blocked = web_shop.browser("127.0.0.50").sign_in("ann@example.com")
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    web_shop.clock.advance(timedelta(minutes=16))
    assert web_shop.browser("127.0.0.50").sign_in("ann@example.com").status_code == 303


def test_sign_in_is_rate_limited_per_address(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser("127.0.0.9")
    for attempt in range(20):
        browser.sign_in(f"nobody{attempt}@example.com", "wrong password!")
    assert browser.sign_in("ann@example.com").status_code == 429
    assert web_shop.browser("127.0.0.10").sign_in("ann@example.com").status_code == 303


def test_a_form_without_the_token_changes_nothing(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.get("/sign-up")
    response = browser.client.post(
        "/sign-up", data={"email": "ann@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    forged = browser.client.post(
        "/sign-up",
        data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    assert browser.sign_in("ann@example.com").status_code == 400  # no account was made


def test_password_reset_by_emailed_link(web_shop: WebShop) -> None:
    first = web_shop.browser()
    first.sign_up("ann@example.com")
    browser = web_shop.browser()
    sent = browser.submit("/reset", {"email": "ann@example.com"})
    assert "a reset link is on its way" in sent.text
    unknown = browser.submit("/reset", {"email": "nobody@example.com"})
    assert unknown.text.count("a reset link is on its way") == 1  # same answer for strangers
    [(to, subject, text)] = _outbox_emails(web_shop)
    assert to == "ann@example.com"
    assert subject == "Reset your Trailhead Coffee password"
    link = re.search(r"http://127\.0\.0\.1:8000(/reset/\S+)", text)
    assert link
    path = link.group(1)
    assert browser.get(path).status_code == 200
    short = browser.submit(path, {"password": "short"})
    assert short.status_code == 400
    assert beside(short.text, "password") == "Use at least 10 characters."  # issue 14
    done = browser.submit(path, {"password": "a brand new password"})
    assert done.status_code == 303
    assert browser.get(path).status_code == 404  # used once
    # The old session is over; the new password works, the old does not.
    assert first.get("/cart", follow_redirects=False).status_code == 303
    assert web_shop.browser().sign_in("ann@example.com").status_code == 400
    assert web_shop.browser().sign_in("ann@example.com", "a brand new password").status_code == 303


def test_reset_links_expire(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser()
    browser.submit("/reset", {"email": "ann@example.com"})
    [(_to, _subject, text)] = _outbox_emails(web_shop)
    link = re.search(r"(/reset/\S+)", text)
    assert link
    web_shop.clock.advance(timedelta(hours=3))
    assert browser.get(link.group(1)).status_code == 404
    assert browser.submit(link.group(1), {"password": "a brand new password"}).status_code == 404


def test_merchants_sign_in_at_their_own_door(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    assert browser.merchant_sign_in(password="wrong password!").status_code == 400
    response = browser.merchant_sign_in()
    assert response.status_code == 303
    assert response.headers["set-cookie"].startswith("hc_merchant=")
    # A merchant's password does not open a shopper account, and the reverse.
    assert web_shop.browser().sign_in(MERCHANT_EMAIL).status_code == 400


def test_next_only_goes_to_local_paths(web_shop: WebShop) -> None:
    web_shop.browser().sign_up("ann@example.com")
    browser = web_shop.browser()
    for hostile in ("https://evil.test/", "//evil.test/x", "/\\evil.test"):
        response = browser.submit(
            "/sign-in", {"email": "ann@example.com", "password": PASSWORD, "next": hostile}
        )
        assert response.headers["location"] == "/cart"


def test_every_page_has_the_security_headers(web_shop: WebShop) -> None:
    response = web_shop.browser().get("/sign-in")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_sign_up_link_sent_twice_at_once_makes_one_account(web_shop_any_db: WebShop) -> None:
    import threading

    shop = web_shop_any_db
    shop.browser().submit("/sign-up", {"email": "bob@example.com", "password": PASSWORD})
    link = sign_up_link(shop.app.engine, "bob@example.com")
    browsers = [shop.browser(f"127.0.0.{n + 2}") for n in range(2)]
    tokens = [browser.csrf() for browser in browsers]
    start = threading.Barrier(2)
    answers: list[int] = []

    def press(index: int) -> None:
        start.wait()
        response = browsers[index].client.post(
            link, data={"csrf_token": tokens[index]}, follow_redirects=False
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [303, 404]
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(t.customers.c.email)).scalars().all() == [
            "bob@example.com"
        ]
        assert connection.execute(select(t.sign_up_requests)).first() is None
