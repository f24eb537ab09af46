"""Following a sign-up's emailed link in tests: the link is read from the outbox, where
the email waits (tests send no mail)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, delete, func, select

from hashcart.store import schema as t

_LINK = re.compile(r"https?://[^/\s]+(/sign-up/[\w-]+)")


def sign_up_link(engine: Engine, email: str) -> str:
    """The path of the newest sign-up link emailed to `email` (any case)."""
    with engine.connect() as connection:
        text = connection.execute(
            select(t.outbox.c.text)
            .where(
                t.outbox.c.network == "email",
                t.outbox.c.reason == "sign_up",
                func.lower(t.outbox.c.account_id) == email.lower(),
            )
            .order_by(t.outbox.c.id.desc())
            .limit(1)
        ).scalar_one()
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


def forget_sign_up_email(engine: Engine, email: str) -> None:
    """Take a followed sign-up's email out of the outbox: the sign-up helpers stand for a
    shopper who read it, and the many tests of what the shop sends (reasons, counts, the
    dispatcher's work) then see only what they caused. tests/web/test_auth.py checks the
    sign-up emails themselves."""
    with engine.begin() as connection:
        connection.execute(
            delete(t.outbox).where(
                t.outbox.c.network == "email",
                t.outbox.c.reason == "sign_up",
                func.lower(t.outbox.c.account_id) == email.lower(),
            )
        )


def follow_sign_up_link(page: Any, url: str, engine: Engine, email: str) -> None:
    """In a real browser, after the sign-up form: open the emailed link and press its
    button, as the shopper would."""
    page.wait_for_load_state()
    page.goto(url + sign_up_link(engine, email))
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    forget_sign_up_email(engine, email)


def sign_up_in_browser(
    page: Any, url: str, engine: Engine, email: str = "maya@example.com", name: str = "Maya"
) -> None:
    """Sign a shopper up in a real browser: the form, then the emailed link."""
    from tests.web.conftest import PASSWORD

    page.goto(f"{url}/sign-up")
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/sign-up'] button[type=submit]")
    follow_sign_up_link(page, url, engine, email)
