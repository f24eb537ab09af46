"""Merchant: API tokens from the console (issue 14), as `hashcart tokens` makes them: the
list (name, made, last used), a form that makes one and shows it this once, with a copy
button, and revoking one. Only a token's hash is kept (web.tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.store import api_tokens
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)
from hashcart.web.tokens import MAX_NAME_CHARS, TokenNameError, create_api_token, token_label

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

_NOTICES = {"revoked": "Token revoked: requests that carry it are refused from now on."}


def _page(
    request: Request,
    status_code: int = 200,
    *,
    made: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    name: str = "",
    notice: str | None = None,
) -> Response:
    with read_only(request) as connection:
        tokens = api_tokens.list_tokens(connection)
    response = render(
        request,
        "merchant/tokens.html",
        status_code,
        title="API tokens",
        tokens=tokens,
        made=made,
        field_errors=field_errors or {},
        form={"name": name},
        notice=notice,
        max_name=MAX_NAME_CHARS,
    )
    if made is not None:  # the token itself is on this page: no cache keeps it
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens")
def tokens_page(request: Request, viewer: SignedInMerchant, done: str = "") -> Response:
    return _page(request, notice=_NOTICES.get(done))


@router.post("/tokens")
def tokens_create(
    request: Request,
    viewer: SignedInMerchant,
    name: Annotated[str, Form(max_length=MAX_NAME_CHARS * 4)] = "",
) -> Response:
    app = hashcart_of(request)
    now = app.clock.now()
    try:
        # Blank: named by the time it was made, as `hashcart tokens create` without a name.
        label = token_label(name if name.strip() else None, now)
    except TokenNameError as problem:
        message = str(problem)
        return _page(
            request, 400, field_errors={"name": message[:1].upper() + message[1:] + "."}, name=name
        )
    with unit_of_work(request) as connection:
        token_id, token = create_api_token(connection, label, now)
    return _page(request, made={"id": str(token_id), "name": label, "token": token})


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(request: Request, viewer: SignedInMerchant, token_id: str) -> Response:
    app = hashcart_of(request)
    found = token_id.isascii() and token_id.isdigit() and len(token_id) <= 12
    if found:
        with unit_of_work(request) as connection:
            found = api_tokens.find_token(connection, int(token_id)) is not None
            if found:
                api_tokens.revoke_token(connection, int(token_id), app.clock.now())
    if not found:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such API token."
        )
    return RedirectResponse("/merchant/tokens?done=revoked", 303)
