"""The shopper's account page as it is drawn: the account routes and the OAuth linking
routes both answer with it (a notice, an error, a form's state), so it lives beside them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from hashcart.domain.messages import NotifyBy
from hashcart.networks import registry
from hashcart.networks.base import SignInAsks
from hashcart.networks.post_urls import post_url
from hashcart.networks.x.guidance import REPLY_RULE, ask_with
from hashcart.ports import LinkedStoreAccount, StoreCustomerAccounts
from hashcart.store import account_data, cart_reminders
from hashcart.store.gateway_records import StoredGatewayRecords
from hashcart.store.saved_addresses import saved_address
from hashcart.web.context import Viewer, hashcart_of, read_only, render
from hashcart.web.security import sign_in_form_policy
from hashcart.web.stripe_form import stripe_form, with_stripe

NOTIFY_LABELS: dict[str, tuple[str, str]] = {
    NotifyBy.PUBLIC_REPLY: (
        "Public reply",
        "We answer your post where you wrote it, so you see it in the thread.",
    ),
    NotifyBy.PRIVATE_MESSAGE: (
        "Private message",
        "We send the same words as a direct message; nothing appears in public.",
    ),
    NotifyBy.EMAIL_ONLY: (
        "Email only",
        "Nothing on the social network at all: we email you instead.",
    ),
}


@dataclass(frozen=True)
class SignIn:
    """One "Link <network>" form of the account page: a registered network shoppers sign
    in with, and what it asks first (a server, a handle), if anything."""

    network: str
    display_name: str
    asks: SignInAsks | None


def sign_ins() -> list[SignIn]:
    """Every registered network with an OAuth sign-in, in registration order."""
    return [
        SignIn(str(one.name), one.display_name, one.sign_in_asks)
        for one in registry.adapters()
        if one.oauth is not None
    ]


def render_account_page(
    request: Request,
    viewer: Viewer,
    status: int = 200,
    template: str = "account/index.html",
    **extra: Any,
) -> Response:
    app = hashcart_of(request)
    now = app.clock.now()
    settings = app.effective_settings()
    link_tags = settings.link_tags
    with read_only(request) as connection:
        code = account_data.live_link_code(connection, viewer.id, now)
        links = account_data.linked_accounts(connection, viewer.id)
        waiting = account_data.waiting_intents(connection, viewer.id)
        applied = account_data.applied_intents(connection, viewer.id)
        card = StoredGatewayRecords(connection).saved_method(viewer.id)
        address = saved_address(connection, viewer.id)

        reminders = cart_reminders.reminders_on(connection, viewer.id)
    form = stripe_form(app.settings)
    # A reminder of a waiting cart (issue 14): the shopper's choice, and whether the shop
    # sends them at all.
    extra.setdefault("reminders_on", reminders)
    extra.setdefault("shop_reminds", settings.cart_reminders)
    extra.setdefault("reminder_hours", f"{settings.cart_reminder_hours:g}")
    extra.setdefault("chosen", viewer.person.notify_by)
    extra.setdefault("title", "Your account")
    # The address form starts from the saved address (issue 12); a refused one comes back.
    extra.setdefault(
        "address_form", asdict(address) if address else {"name": viewer.person.name or ""}
    )
    extra.setdefault("address_errors", {})
    extra.setdefault("store_account", store_account_of(request, viewer))
    response = render(
        request,
        template,
        status,
        person=viewer.person,
        code=code,
        minutes_left=_minutes_left(code.expires_at, now) if code else 0,
        link_tag=link_tags[0],
        cart_tag=settings.cart_tags[0],
        x_ask=ask_with(settings.x_shop_handle, settings.cart_tags[0]),
        x_reply_rule=REPLY_RULE,
        other_link_tags=link_tags[1:],
        links=links,
        waiting=[(intent, _intent_url(intent)) for intent in waiting],
        applied=[(intent, _intent_url(intent)) for intent in applied],
        notify_labels=NOTIFY_LABELS,
        sign_ins=sign_ins(),
        card=card,
        address=address,
        stripe_form=form,
        **extra,
    )
    policy = sign_in_form_policy(settings.oauth_allow_private_servers)
    response.headers["Content-Security-Policy"] = (
        policy if form is None else with_stripe(policy, form)
    )
    return response


@dataclass(frozen=True)
class StoreAccount:
    """The account page's "Your <store> account" section (issue 16): the merchant's store
    whose customer account a shopper may link, and the one they linked."""

    label: str
    linked: LinkedStoreAccount | None


def store_account_of(request: Request, viewer: Viewer) -> StoreAccount | None:
    """None with the built-in shop, or a store without customer accounts to link."""
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    app = hashcart_of(request)
    try:
        store = app.external_store()
    except (StoreNotConfigured, UnknownStore):
        return None
    accounts = app.store_accounts()
    if store is None or accounts is None or not isinstance(store, StoreCustomerAccounts):
        return None
    return StoreAccount(store.label, accounts.linked(store.name, viewer.id))


def _minutes_left(expires_at: datetime, now: datetime) -> int:
    return max(1, int((expires_at - now).total_seconds() // 60))


def _intent_url(intent: account_data.Intent) -> str | None:
    return post_url(intent.network, intent.post_id, intent.account_id, intent.handle)
