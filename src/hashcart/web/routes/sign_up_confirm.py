"""Sign-up by emailed link: the form's answer is the same for every address, and the email
says what comes next. A new address gets a link that makes the account (and signs it in);
an address that has an account gets a note to sign in or reset the password instead, so
the form never tells a stranger who has an account here (sign-in and reset do not either).

The link opens a page with one button: following a link only shows it (mail scanners that
open links make nothing), the button makes the account."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection
from starlette.responses import Response

from hashcart.domain.email_templates import fill_email, subject_line
from hashcart.services.mail import Email, queue_email
from hashcart.store import accounts
from hashcart.store.repository import Repository
from hashcart.store.sign_up_requests import SignUpRequest, add_request, live_request, take_request
from hashcart.web.context import csrf_protected, hashcart_of, read_only, render, sign_in
from hashcart.web.context import unit_of_work as web_unit_of_work
from hashcart.web.error_pages import WayBack, error_page
from hashcart.web.tokens import digest, new_secret

router = APIRouter(dependencies=[Depends(csrf_protected)], tags=["pages"], include_in_schema=False)

SIGN_UP_LINK_HOURS = 24


def ask_to_confirm(request: Request, connection: Connection, wanted: SignUpRequest) -> None:
    """Email the address's owner, in the caller's transaction: the link that makes the
    account, or (the address has an account already) a note saying so."""
    app = hashcart_of(request)
    now = app.clock.now()
    base = app.settings.public_url.rstrip("/")
    shop = app.settings.shop_name
    owner = accounts.find_person(connection, "shopper", email=wanted.email)
    repository = Repository(connection)
    # In the merchant's words when they rewrote them (issue 14).
    words = repository.message_templates()
    values = {"shop": shop, "hours": str(SIGN_UP_LINK_HOURS)}
    if owner is not None and owner.password_hash is not None:
        values |= {"email": owner.email, "sign_in_url": f"{base}/sign-in"}
        values["reset_url"] = f"{base}/reset"
        # One note an hour at most, however often a stranger tries the address.
        email = Email(
            to=owner.email,
            subject=subject_line("sign_up_exists", words, values),
            text=fill_email("email.sign_up_exists", words, values),
            reason="sign_up_exists",
            dedupe_key=f"sign-up-exists:{owner.id}:{now:%Y-%m-%dT%H}",
        )
        queue_email(repository, email, now)
        return
    token = new_secret()
    add_request(connection, digest(token), wanted, now, now + timedelta(hours=SIGN_UP_LINK_HOURS))
    values |= {"email": wanted.email, "sign_up_url": f"{base}/sign-up/{token}"}
    email = Email(
        to=wanted.email,
        subject=subject_line("sign_up", words, values),
        text=fill_email("email.sign_up", words, values),
        reason="sign_up",
        dedupe_key=f"sign-up:{digest(token)}",
    )
    queue_email(repository, email, now)


def _link_expired(request: Request) -> Response:
    return error_page(
        request,
        404,
        title="This link has expired",
        message=(
            "Sign-up links work once, for a day. Sign up again for a new one, or sign in if "
            "the account is made already."
        ),
        ways=[WayBack("/sign-up", "Sign up again"), WayBack("/sign-in", "Sign in")],
    )


@router.get("/sign-up/{token}")
def confirm_page(request: Request, token: str) -> Response:
    app = hashcart_of(request)
    with read_only(request) as connection:
        wanted = live_request(connection, digest(token), app.clock.now())
    if wanted is None:
        return _link_expired(request)
    page = render(request, "auth/sign_up_confirm.html", token=token, email=wanted.email)
    page.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's address
    return page


@router.post("/sign-up/{token}")
def confirm(request: Request, token: str) -> Response:
    app = hashcart_of(request)
    now = app.clock.now()
    with web_unit_of_work(request) as connection:
        wanted = take_request(connection, digest(token), now)
        if wanted is None:
            return _link_expired(request)
        customer_id = accounts.add_shopper(
            connection, wanted.email, wanted.name, wanted.password_hash, now
        )
        if customer_id is None:  # the address made an account by another link meanwhile
            return error_page(
                request,
                409,
                title="This email has an account",
                message="It was made by another sign-up link. Sign in with its password.",
                ways=[WayBack("/sign-in", "Sign in"), WayBack("/reset", "Reset the password")],
            )
        person = accounts.find_person(connection, "shopper", person_id=customer_id)
        assert person is not None
        # The next step is linking a social account (issue 14, i14-phone's welcome page),
        # then where they were going.
        welcome = "/account/welcome?" + urlencode({"next": wanted.next_path})
        response = RedirectResponse(welcome, 303)
        sign_in(request, response, connection, person)
    return response
