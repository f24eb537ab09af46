"""Merchant: "Connect" and "Disconnect" the shop's own X, Mastodon and Bluesky accounts on the
Networks page, by signing in at the network (web/shop_connect has the flow).

Only a signed-in merchant starts or finishes a connect: a shopper gets the console's 403
page and an anonymous visitor the merchant's sign-in, before anything is read or written.
The callback takes the state only for the merchant who started it; a shopper's linking has
its own callback (/account/oauth/...) and its own states, so neither can finish the other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.networks import registry
from hashcart.services.oauth_links import (
    OAuthFailed,
    OAuthInputError,
    OAuthUnavailable,
    StateRefused,
)
from hashcart.web import shop_connect
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, render
from hashcart.web.formatting import in_words, network_name
from hashcart.web.routes.merchant_networks import networks_response

router = APIRouter(
    prefix="/merchant/networks", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

# Callback parameters are short; anything longer is not from a network's sign-in.
MAX_PARAM = 4096


@router.post("/{network}/connect")
def connect(
    request: Request,
    viewer: SignedInMerchant,
    network: str,
    entered: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if shop_connect.connect_of(network) is None:
        return _no_such_network(request)
    app = hashcart_of(request)
    try:
        authorization = shop_connect.start(app, viewer.id, network, entered)
    except OAuthUnavailable as error:
        return _page(request, 503, network, str(error), entered)
    except OAuthInputError as error:
        return _page(request, 400, network, str(error), entered)
    except OAuthFailed as error:
        return _page(request, 502, network, str(error), entered)
    return RedirectResponse(authorization.url, 303)


@router.get("/{network}/connect/callback")
def callback(request: Request, viewer: SignedInMerchant, network: str) -> Response:
    if shop_connect.connect_of(network) is None:
        return _no_such_network(request)
    app = hashcart_of(request)
    params = {key: value for key, value in request.query_params.items() if len(value) <= MAX_PARAM}
    try:
        pending = shop_connect.take(app, viewer.id, network, params.get("state", ""))
    except StateRefused as error:
        return render(
            request, "error.html", 400, title="This sign-in cannot be used", message=str(error)
        )
    except OAuthUnavailable as error:
        return _page(request, 503, network, str(error))
    name = network_name(network)
    if "error" in params:
        reason = "you did not allow it" if params["error"] == "access_denied" else "it refused"
        return _page(request, 200, network, f"Nothing was connected: {name} says {reason}.")
    try:
        connected = shop_connect.finish(app, network, pending, params.get("code", ""), params)
    except OAuthUnavailable as error:
        return _page(request, 503, network, str(error))
    except (OAuthFailed, OAuthInputError) as error:
        return _page(request, 502, network, str(error))
    who = f"@{connected.handle}" if connected.handle else connected.account_id
    response = networks_response(
        request,
        notice=(
            f"Connected the shop's {name} account {who}. The dispatcher and listeners use it "
            "from when hashcart listen, dispatch or serve starts again; webhooks at once."
        ),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/{network}/disconnect")
def disconnect(request: Request, viewer: SignedInMerchant, network: str) -> Response:
    if shop_connect.connect_of(network) is None:
        return _no_such_network(request)
    found, revocation = shop_connect.disconnect(hashcart_of(request), network)
    name = network_name(network)
    if found is None:
        return networks_response(request, notice=f"No {name} account was connected.")
    who = f"@{found.handle}" if found.handle else found.account_id
    said = {
        "revoked": f"{name} has withdrawn hashcart's access.",
        "failed": (
            f"{name} could not be asked to withdraw hashcart's access: remove it in the "
            "account's settings there."
        ),
        "none": "",
    }[revocation]
    return networks_response(
        request, notice=f"Disconnected the shop's {name} account {who}. {said}".strip()
    )


def _page(request: Request, status: int, network: str, message: str, entered: str = "") -> Response:
    """The Networks page again, the message by the network's Connect button."""
    return networks_response(
        request, status, connect_error=message, connect_network=network, connect_typed=entered
    )


def _no_such_network(request: Request) -> Response:
    return render(
        request,
        "error.html",
        404,
        title="No such network",
        message=f"The shop connects its {_connectable()} accounts here.",
    )


def _connectable() -> str:
    """ "X, Mastodon and Bluesky": the networks whose shop account connects here."""
    return in_words([one.display_name for one in registry.adapters() if one.connect is not None])
