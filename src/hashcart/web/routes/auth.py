"""Shoppers: sign up, sign in, sign out, and reset a forgotten password by emailed link."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.domain.email_templates import fill_email, subject_line
from hashcart.services.mail import Email, queue_email
from hashcart.store import accounts
from hashcart.store.repository import Repository
from hashcart.store.sign_up_requests import SignUpRequest
from hashcart.web.context import (
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    safe_next,
    sign_in,
    sign_out,
    unit_of_work,
)
from hashcart.web.error_pages import WayBack, error_page
from hashcart.web.form_problems import problems_summary
from hashcart.web.passwords import HashingBusy, password_problem
from hashcart.web.routes.sign_up_confirm import ask_to_confirm
from hashcart.web.signin import answer_sign_in_form, passwords_of, with_retry_after
from hashcart.web.tokens import digest, new_secret

router = APIRouter(dependencies=[Depends(csrf_protected)], tags=["pages"], include_in_schema=False)

RESET_LINK_HOURS = 2


def normal_email(raw: str) -> str | None:
    """The address in its normal form, or None if it is not one (no DNS lookups)."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@router.get("/sign-up")
def sign_up_page(request: Request, next: str = "/cart") -> Response:
    return render(request, "auth/sign_up.html", next=safe_next(next, "/cart"), form={})


@router.post("/sign-up")
def sign_up(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    next: Annotated[str, Form()] = "/cart",
) -> Response:
    form = {"email": email, "name": name}
    address = normal_email(email)
    # Every problem at once, each shown beside its field (issue 14).
    fields: dict[str, str] = {}
    if address is None:
        fields["email"] = "Enter an email address like name@example.com."
    if (password_says := password_problem(password)) is not None:
        fields["password"] = password_says
    problem = problems_summary(fields)
    if problem is None and address is not None:
        # Hashed before the transaction: waiting for a hashing slot holds no database lock.
        # Hashed for an address that has an account too, so both answers take as long.
        try:
            password_hash = passwords_of(request).hash(password)
        except HashingBusy as busy:
            page = render(
                request,
                "auth/sign_up.html",
                429,
                error=busy.message,
                form=form,
                next=safe_next(next, "/cart"),
            )
            return with_retry_after(page, busy.retry_after_seconds)
        next_path = safe_next(next, "/cart")
        wanted = SignUpRequest(address, name.strip() or None, password_hash, next_path)
        with unit_of_work(request) as connection:
            ask_to_confirm(request, connection, wanted)
        # The same page whether the address had an account or not (sign-in and reset do
        # not tell either): what happens next is in the email.
        return render(request, "auth/sign_up_sent.html", email=address)
    return render(
        request,
        "auth/sign_up.html",
        400,
        error=problem,
        field_errors=fields,
        form=form,
        next=safe_next(next, "/cart"),
    )


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/cart") -> Response:
    return render(request, "auth/sign_in.html", next=safe_next(next, "/cart"), form={})


@router.post("/sign-in")
def sign_in_submit(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    next: Annotated[str, Form()] = "/cart",
) -> Response:
    return answer_sign_in_form(
        request,
        "shopper",
        typed_email=email,
        address=normal_email(email) or email.strip(),
        password=password,
        next_path=next,
        template="auth/sign_in.html",
        home="/cart",
    )


@router.post("/sign-out")
def sign_out_submit(request: Request) -> Response:
    response = RedirectResponse("/", 303)
    sign_out(request, response, "shopper")
    return response


@router.get("/reset")
def reset_request_page(request: Request) -> Response:
    return render(request, "auth/reset_request.html", form={})


@router.post("/reset")
def reset_request(request: Request, email: Annotated[str, Form(max_length=320)] = "") -> Response:
    """Always the same answer, so the page does not tell who has an account."""
    address = normal_email(email)
    if address is None:
        problem = "Enter an email address like name@example.com."
        return render(
            request,
            "auth/reset_request.html",
            400,
            form={"email": email},
            error=problem,
            field_errors={"email": problem},
        )
    app = hashcart_of(request)
    now = app.clock.now()
    with unit_of_work(request) as connection:
        person = accounts.find_person(connection, "shopper", email=address)
        if person is not None:
            token = new_secret()
            accounts.add_password_reset(
                connection, digest(token), person.id, now + timedelta(hours=RESET_LINK_HOURS)
            )
            link = f"{app.settings.public_url.rstrip('/')}/reset/{token}"
            repository = Repository(connection)
            # In the merchant's words when they rewrote them (issue 14).
            words = repository.message_templates()
            values = {
                "shop": app.settings.shop_name,
                "email": person.email,
                "hours": str(RESET_LINK_HOURS),
                "reset_url": link,
            }
            queue_email(
                repository,
                Email(
                    to=person.email,
                    subject=subject_line("password_reset", words, values),
                    text=fill_email("email.password_reset", words, values),
                    reason="password_reset",
                    dedupe_key=f"reset:{digest(token)}",
                ),
                now,
            )
    return render(request, "auth/reset_sent.html", email=address)


@router.get("/reset/{token}")
def reset_page(request: Request, token: str) -> Response:
    app = hashcart_of(request)
    with read_only(request) as connection:
        live = accounts.password_reset_is_live(connection, digest(token), app.clock.now())
    if not live:
        return _link_expired(request)
    return render(request, "auth/reset_choose.html", token=token)


def _link_expired(request: Request) -> Response:
    return error_page(
        request,
        404,
        title="This link has expired",
        message="Reset links work once, for a short time. Ask for a new one.",
        ways=[WayBack("/reset", "Ask for a new reset link"), WayBack("/sign-in", "Sign in")],
    )


@router.post("/reset/{token}")
def reset_choose(
    request: Request, token: str, password: Annotated[str, Form(max_length=2048)] = ""
) -> Response:
    problem = password_problem(password)
    if problem is not None:
        return render(
            request,
            "auth/reset_choose.html",
            400,
            token=token,
            error=problem,
            field_errors={"password": problem},
        )
    app = hashcart_of(request)
    # A dead link costs no hash; the hash is made before the transaction, so waiting for a
    # hashing slot holds no database lock; the link is used up only inside it.
    with read_only(request) as connection:
        live = accounts.password_reset_is_live(connection, digest(token), app.clock.now())
    if not live:
        return _link_expired(request)
    try:
        password_hash = passwords_of(request).hash(password)
    except HashingBusy as busy:
        page = render(request, "auth/reset_choose.html", 429, token=token, error=busy.message)
        return with_retry_after(page, busy.retry_after_seconds)
    with unit_of_work(request) as connection:
        customer_id = accounts.use_password_reset(connection, digest(token), app.clock.now())
        if customer_id is None:  # used or expired meanwhile
            return _link_expired(request)
        accounts.set_password(connection, "shopper", customer_id, password_hash)
        accounts.end_all_sessions(connection, "shopper", customer_id)
        person = accounts.find_person(connection, "shopper", person_id=customer_id)
        assert person is not None
        response = RedirectResponse("/account?done=password", 303)
        sign_in(request, response, connection, person)
    return response
