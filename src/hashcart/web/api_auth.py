"""Who is calling the JSON API: a merchant with an API token, or a signed-in shopper.

- `Authorization: Bearer <token>`: a merchant API token (made with `hashcart tokens create`);
  it sees everything. A token that is unknown or revoked is refused, even if the request also
  carries a session cookie: a caller that names a credential gets that credential's answer.
- the shopper's session cookie: that shopper, who reaches only their own cart, wish list
  and orders. The API is read-only, so there is nothing a cross-site request could change;
  any unsafe method added later must check the `X-CSRF-Token` header for cookie callers.
- nobody: 401 with `WWW-Authenticate: Bearer`, as RFC 6750 asks.

Both ways are declared as security schemes, so the OpenAPI document says how to call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from hashcart.store.api_tokens import active_token, mark_used, needs_marking
from hashcart.web.context import (
    SESSION_COOKIES,
    hashcart_of,
    read_only,
    shopper_of,
    unit_of_work,
)
from hashcart.web.tokens import digest

REALM = "hashcart"

merchant_token = HTTPBearer(
    auto_error=False,
    scheme_name="merchantToken",
    description="A merchant API token from `hashcart tokens create NAME`: sees everything.",
)
shopper_session = APIKeyCookie(
    name=SESSION_COOKIES["shopper"],
    auto_error=False,
    scheme_name="shopperSession",
    description="A signed-in shopper's session cookie: their own cart, wish list and orders.",
)


@dataclass(frozen=True)
class ApiCaller:
    kind: Literal["merchant", "shopper"]
    token_id: int | None = None  # merchant callers
    customer_id: int | None = None  # shopper callers
    email: str | None = None  # shopper callers

    @property
    def is_merchant(self) -> bool:
        return self.kind == "merchant"


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        challenge += f', error="{error}"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def api_caller(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(merchant_token)],
    _cookie: Annotated[str | None, Security(shopper_session)],
) -> ApiCaller:
    """The caller, or 401. (The two parameters only document the schemes in OpenAPI.)"""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise _unauthorized("Send `Authorization: Bearer <token>`.", "invalid_request")
        app = hashcart_of(request)
        now = app.clock.now()
        # A read; the write that marks the token used only when its mark is a minute old.
        with read_only(request) as connection:
            token = active_token(connection, digest(secret))
        if token is None:
            raise _unauthorized("This API token is unknown or revoked.", "invalid_token")
        if needs_marking(token, now):
            with unit_of_work(request) as connection:
                mark_used(connection, token.id, now)
        return ApiCaller("merchant", token_id=token.id)
    shopper = shopper_of(request)
    if shopper is not None:
        return ApiCaller("shopper", customer_id=shopper.id, email=shopper.person.email)
    raise _unauthorized("Sign in, or send a merchant API token as `Authorization: Bearer`.")


def merchant_caller(caller: Annotated[ApiCaller, Depends(api_caller)]) -> ApiCaller:
    if not caller.is_merchant:
        raise HTTPException(403, "This endpoint needs a merchant API token.")
    return caller


# Route parameters: `caller: AnyCaller` (merchant or shopper), `caller: MerchantCaller`.
AnyCaller = Annotated[ApiCaller, Depends(api_caller)]
MerchantCaller = Annotated[ApiCaller, Depends(merchant_caller)]
