"""Merchants sign in at their own door; a shopper's session never opens the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.web.context import csrf_protected, render, safe_next, sign_in, sign_out, unit_of_work
from hashcart.web.signin import SignInRefused, check_sign_in

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/merchant") -> Response:
    return render(request, "merchant/sign_in.html", next=safe_next(next, "/merchant"), form={})


@router.post("/sign-in")
def sign_in_submit(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    next: Annotated[str, Form()] = "/merchant",
) -> Response:
    outcome = check_sign_in(request, "merchant", email.strip(), password)
    if isinstance(outcome, SignInRefused):
        return render(
            request,
            "merchant/sign_in.html",
            outcome.status_code,
            error=outcome.message,
            form={"email": email},
            next=safe_next(next, "/merchant"),
        )
    response = RedirectResponse(safe_next(next, "/merchant"), 303)
    with unit_of_work(request) as connection:
        sign_in(request, response, connection, outcome)
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request) -> Response:
    response = RedirectResponse("/merchant/sign-in", 303)
    sign_out(request, response, "merchant")
    return response
