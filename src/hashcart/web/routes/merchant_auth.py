"""Merchants sign in at their own door; a shopper's session never opens the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.web.context import csrf_protected, render, safe_next, sign_out
from hashcart.web.signin import answer_sign_in_form

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
    return answer_sign_in_form(
        request,
        "merchant",
        typed_email=email,
        address=email.strip(),
        password=password,
        next_path=next,
        template="merchant/sign_in.html",
        home="/merchant",
    )


@router.post("/sign-out")
def sign_out_submit(request: Request) -> Response:
    response = RedirectResponse("/merchant/sign-in", 303)
    sign_out(request, response, "merchant")
    return response
