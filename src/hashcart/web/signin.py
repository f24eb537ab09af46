"""Checking a password, rate-limited per account and per address, for shoppers and merchants,
and the app's one set of password-hashing slots that sign-in, sign-up and resets share."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.store import accounts
from hashcart.store.accounts import Kind, Person
from hashcart.web.context import (
    hashcart_of,
    read_only,
    render,
    safe_next,
    sign_in,
    unit_of_work,
)
from hashcart.web.form_problems import problems_summary
from hashcart.web.passwords import HashingBusy, Passwords


@dataclass(frozen=True)
class SignInRefused:
    message: str
    status_code: int
    retry_after_seconds: int | None = None


_making_passwords = threading.Lock()


def passwords_of(request: Request) -> Passwords:
    """The app's password hashing, made on first use with password_hash_concurrency slots.
    `hashcart serve` runs one app, so these slots bound the whole process. (Tests may put
    their own Passwords on app.state.passwords before the first request.)"""
    state = request.app.state
    with _making_passwords:
        passwords: Passwords | None = getattr(state, "passwords", None)
        if passwords is None:
            concurrency = hashcart_of(request).settings.password_hash_concurrency
            passwords = Passwords(concurrency=concurrency)
            state.passwords = passwords
    return passwords


def with_retry_after(response: Response, seconds: int | None) -> Response:
    """A 429 says when to come back (Retry-After, in seconds)."""
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


def _keys(request: Request, kind: Kind, email: str) -> tuple[str, str]:
    address = request.client.host if request.client else "unknown"
    return f"{kind}:account:{email.lower()}", f"{kind}:address:{address}"


def _withdraw(request: Request, attempt: list[int]) -> None:
    with unit_of_work(request) as connection:
        accounts.withdraw_sign_in_attempt(connection, attempt)


def check_sign_in(
    request: Request, kind: Kind, email: str, password: str
) -> Person | SignInRefused:
    """The person if the password is right; otherwise why not. Too many failures for this
    account or this address in the window refuse without looking at the password, and so
    does a moment when every hashing slot is taken."""
    app = hashcart_of(request)
    settings = app.settings
    now = app.clock.now()
    since = now - timedelta(minutes=settings.sign_in_window_minutes)
    account_key, address_key = _keys(request, kind, email)
    # The attempt is recorded, and committed, before it counts: each attempt then counts at
    # least every attempt committed before its own, so however many arrive at once, no more
    # than the limit reach the password. (Counting first and recording only after the check
    # let 30 parallel guesses at one account through a limit of 5.)
    with unit_of_work(request) as connection:
        attempt = accounts.record_sign_in_attempt(connection, [account_key, address_key], now)
    with read_only(request) as connection:
        too_many = (
            accounts.sign_in_failures_since(connection, account_key, since)
            > settings.sign_in_account_limit
            or accounts.sign_in_failures_since(connection, address_key, since)
            > settings.sign_in_address_limit
        )
        person = None if too_many else accounts.find_person(connection, kind, email=email)
    if too_many:
        # Turned away unchecked, so not a failure: the lockout runs from the last real one.
        _withdraw(request, attempt)
        minutes = round(settings.sign_in_window_minutes)
        return SignInRefused(
            f"Too many failed sign-ins. Wait {minutes} minutes, or reset your password.",
            429,
            math.ceil(settings.sign_in_window_minutes * 60),
        )
    try:
        # Someone unknown still costs a hash, so timing does not tell who has an account.
        matches = passwords_of(request).verify(
            password, person.password_hash if person is not None else None
        )
    except HashingBusy as busy:
        _withdraw(request, attempt)
        return SignInRefused(busy.message, 429, busy.retry_after_seconds)
    if person is not None and matches:
        with unit_of_work(request) as connection:
            accounts.forget_sign_in_failures(connection, account_key)
            accounts.withdraw_sign_in_attempt(connection, attempt)  # and its address row
        return person
    return SignInRefused("That email and password do not match.", 400)


def answer_sign_in_form(
    request: Request,
    kind: Kind,
    *,
    typed_email: str,
    address: str,
    password: str,
    next_path: str,
    template: str,
    home: str,
) -> Response:
    """The answer to a sign-in form, for either door: on to `next_path` (a local path, else
    `home`) with a new session, or the form again with the reason and what was typed: a
    field left blank is named beside it, and so is a wrong password, beside the password
    (the same words whether the email has an account or not)."""
    destination = safe_next(next_path, home)
    blank: dict[str, str] = {}
    if not typed_email.strip():
        blank["email"] = "Enter your email address."
    if not password:
        blank["password"] = "Enter your password."
    if blank:
        return render(
            request,
            template,
            400,
            error=problems_summary(blank),
            field_errors=blank,
            form={"email": typed_email},
            next=destination,
        )
    outcome = check_sign_in(request, kind, address, password)
    if isinstance(outcome, SignInRefused):
        # A mismatch belongs to the pair: it is shown beside the password, and the email
        # field points at it too. A pause (too many tries, busy) is for the whole form.
        mismatch = outcome.status_code == 400
        page = render(
            request,
            template,
            outcome.status_code,
            error=outcome.message,
            field_errors={"password": outcome.message} if mismatch else {},
            mismatch=mismatch,
            form={"email": typed_email},
            next=destination,
        )
        return with_retry_after(page, outcome.retry_after_seconds)
    response = RedirectResponse(destination, 303)
    with unit_of_work(request) as connection:
        sign_in(request, response, connection, outcome)
    return response
