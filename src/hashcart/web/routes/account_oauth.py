"""Linking a social account by signing in at the network (OAuth): start, callback, and
Bluesky's client metadata document. The flow itself is services/oauth_links; this module
picks the network's provider from the settings in force and turns outcomes into pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from hashcart.domain.posts import Network
from hashcart.networks import registry
from hashcart.networks.bluesky.oauth import client_metadata, is_loopback
from hashcart.services.linking import LinkError
from hashcart.services.oauth_links import (
    OAuthFailed,
    OAuthInputError,
    OAuthProvider,
    OAuthUnavailable,
    Revocation,
    StateRefused,
    StoredClients,
    finish_link,
    revoke_tokens,
    start_link,
    stored_tokens,
    take_pending,
)
from hashcart.web.account_page import render_account_page as account_page
from hashcart.web.context import SignedInShopper, Viewer, csrf_protected, hashcart_of, render
from hashcart.web.formatting import in_words, network_name

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

# Callback parameters are short; anything longer is not from a network's sign-in.
MAX_PARAM = 4096


def provider_for(request: Request, network: Network) -> OAuthProvider:
    """The network's sign-in (its adapter's), built from the settings in force (console
    over file)."""
    app = hashcart_of(request)
    build = registry.adapter(network).oauth
    if build is None:
        raise OAuthUnavailable(f"{network.display_name} accounts are not linked by sign-in.")
    return build(app, StoredClients(app))


def revoke_link(request: Request, customer_id: int, link_id: int) -> Revocation:
    """Before an unlink: ask the network to revoke the link's tokens, if it has any.
    'none' when the link holds no tokens (linked by code), else 'revoked' or 'failed'."""
    app = hashcart_of(request)
    found = stored_tokens(app, customer_id, link_id)
    if found is None:
        return "none"
    network_value, server, secrets = found
    network = _network(network_value)
    provider: OAuthProvider | None = None
    if network is not None:
        try:
            provider = provider_for(request, network)
        except (OAuthUnavailable, OAuthInputError):
            provider = None
    return revoke_tokens(provider, server, secrets)


@router.post("/account/oauth/{network}/start")
def start(
    request: Request,
    viewer: SignedInShopper,
    network: str,
    server: Annotated[str, Form(max_length=300)] = "",
    handle: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    chosen = _network(network)
    if chosen is None:
        return _no_such_network(request)
    app = hashcart_of(request)
    asks = registry.adapter(chosen).sign_in_asks
    entered = "" if asks is None else server if asks.name == "server" else handle
    try:
        provider = provider_for(request, chosen)
        authorization = start_link(app, viewer.id, provider, entered)
    except OAuthUnavailable as error:
        return _account(request, viewer, 503, chosen, str(error), entered)
    except OAuthInputError as error:
        return _account(request, viewer, 400, chosen, str(error), entered)
    except OAuthFailed as error:
        return _account(request, viewer, 502, chosen, str(error), entered)
    return RedirectResponse(authorization.url, 303)


@router.get("/account/oauth/{network}/callback")
def callback(request: Request, viewer: SignedInShopper, network: str) -> Response:
    chosen = _network(network)
    if chosen is None:
        return _no_such_network(request)
    app = hashcart_of(request)
    params = {
        key: value[:MAX_PARAM]
        for key, value in request.query_params.items()
        if len(value) <= MAX_PARAM
    }
    try:
        pending = take_pending(app, viewer.id, chosen, params.get("state", ""))
    except StateRefused as error:
        return render(
            request, "error.html", 400, title="This sign-in cannot be used", message=str(error)
        )
    except OAuthUnavailable as error:
        return _account(request, viewer, 503, chosen, str(error))
    name = network_name(chosen.value)
    if "error" in params:
        # The shopper said no at the network (access_denied), or the network gave up.
        reason = "you did not allow it" if params["error"] == "access_denied" else "it refused"
        return _account(request, viewer, 200, chosen, f"Nothing was linked: {name} says {reason}.")
    try:
        provider = provider_for(request, chosen)
        linked = finish_link(
            app, viewer.person.email, provider, pending, params.get("code", ""), params
        )
    except LinkError as error:
        return _account(request, viewer, 409, chosen, _refusal(name, error))
    except OAuthUnavailable as error:
        return _account(request, viewer, 503, chosen, str(error))
    except OAuthFailed as error:
        return _account(request, viewer, 502, chosen, str(error))
    who = f"@{linked.handle}" if linked.handle else linked.account_id
    waiting = (
        f" {linked.applied} waiting repl{'y was' if linked.applied == 1 else 'ies were'} applied."
        if linked.applied
        else ""
    )
    notice = f"Linked your {name} account {who}.{waiting}"
    # Rendered here rather than redirected: the count is known only now, and a notice made
    # from URL parameters would let anyone's link put words on this page.
    response = account_page(request, viewer, notice=notice)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/oauth/bluesky/client-metadata.json")
def bluesky_client_metadata(request: Request) -> Response:
    """hashcart's client metadata for Bluesky sign-in (its URL is the client id)."""
    settings = hashcart_of(request).effective_settings()
    if is_loopback(settings.public_url):
        # A loopback shop uses the development client id; there is no document to serve.
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(client_metadata(settings), headers={"Cache-Control": "max-age=300"})


def _network(name: str) -> Network | None:
    """The registered network named `name` that shoppers sign in with, else None."""
    adapter = registry.find(name)
    return None if adapter is None or adapter.oauth is None else Network(adapter.name)


def _no_such_network(request: Request) -> Response:
    return render(
        request,
        "error.html",
        404,
        title="No such network",
        message=f"hashcart links {_linkable()} accounts.",
    )


def _linkable() -> str:
    """ "X, Mastodon and Bluesky": the networks shoppers sign in with, in words."""
    return in_words([one.display_name for one in registry.adapters() if one.oauth is not None])


def _refusal(name: str, error: LinkError) -> str:
    if "already linked to another" in str(error):
        return (
            f"That {name} account is linked to another shopper's account here, so it was not "
            "linked to yours. If it is yours, unlink it there first."
        )
    return str(error)


def _account(
    request: Request,
    viewer: Viewer,
    status: int,
    network: Network,
    message: str,
    entered: str = "",
) -> Response:
    """The account page again, with the message by the link buttons."""
    return account_page(
        request,
        viewer,
        status,
        oauth_error=message,
        oauth_network=network.value,
        oauth_entered=entered,
    )
