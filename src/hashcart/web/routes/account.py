"""The shopper's account: linked social accounts and a one-time link code, what waits for
them, how they want to hear from us, their data as JSON, and deleting the account."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.services import checkout
from hashcart.services.link_codes import issue_link_code
from hashcart.services.saved_cards import settle_cleanups
from hashcart.store import account_data
from hashcart.store import cart_reminders as reminders
from hashcart.store.saved_addresses import save_address
from hashcart.web.account_page import NOTIFY_LABELS, render_account_page, store_account_of
from hashcart.web.context import (
    SESSION_COOKIES,
    SignedInShopper,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    safe_next,
    unit_of_work,
)
from hashcart.web.payment_form import AddressForm, address_form, form_problems
from hashcart.web.routes.account_oauth import revoke_link
from hashcart.web.signin import SignInRefused, check_sign_in, with_retry_after

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

# What a finished change says on the page (`?done=`): fixed texts only, so nobody can make
# the page say something by crafting a link.
DONE_NOTICES = {
    "code": "Here is your new code. Post it within the time shown.",
    "store-linked": "Linked: what you hand to the store now goes to your own cart there.",
    "store-unlinked": "Unlinked: handed-over carts start a new order at the store again.",
    "unlinked": "Unlinked. Replies from that account no longer reach your cart.",
    "unlinked-revoked": "Unlinked, and the network has withdrawn our access to that account.",
    "unlinked-not-revoked": (
        "Unlinked. We could not ask the network to withdraw our access, so you may still see "
        "this shop among the apps connected to that account there; you can remove it yourself."
    ),
    "notify": "Saved. We will tell you that way from now on.",
    "address": "Your address is saved. What you buy with a post ships there.",
    "reminders-on": "Saved. We will remind you once of a cart you leave waiting.",
    "reminders-off": "Saved. No reminders of your cart.",
    "password": "Your new password is set.",
    "card": "Your card is saved. Stripe keeps it; we keep only its brand and last four digits.",
    "card-removed": "Your card is removed. Nothing will be charged to it again.",
    "card-removed-owed": (
        "Your card is removed here, so nothing will be charged to it again. Stripe did not "
        "answer just now; we keep asking it to forget the card until it does."
    ),
}


@router.get("/account")
def account_page(request: Request, viewer: SignedInShopper, done: str = "") -> Response:
    return render_account_page(request, viewer, notice=DONE_NOTICES.get(done))


@router.get("/account/welcome")
def welcome_page(request: Request, viewer: SignedInShopper, next: str = "/cart") -> Response:
    """Where sign-up lands (issue 14): the next step is linking a social account, the one
    thing that makes #cart work; `next` (where the shopper was going) is one click away."""
    return render_account_page(
        request,
        viewer,
        template="account/welcome.html",
        title="Welcome",
        next=safe_next(next, "/cart"),
    )


@router.post("/account/link-code")
def make_link_code(request: Request, viewer: SignedInShopper) -> Response:
    app = hashcart_of(request)
    with app.unit_of_work() as uow:
        issue_link_code(uow.repository, viewer.id, app.clock.now(), app.settings.link_code_minutes)
    return RedirectResponse("/account?done=code#link", 303)


@router.post("/account/links/{link_id}/unlink")
def unlink(request: Request, viewer: SignedInShopper, link_id: int) -> Response:
    # Revoke first (the tokens go with the link); a failed revoke does not keep the link.
    revocation = revoke_link(request, viewer.id, link_id)
    with unit_of_work(request) as connection:
        removed = account_data.unlink(connection, viewer.id, link_id)
    if removed is None:
        # Not theirs, or gone already: the same answer either way, so ids tell nothing.
        return render(
            request,
            "error.html",
            404,
            title="No such linked account",
            message="That account is not linked to yours (any more).",
        )
    done = {"revoked": "unlinked-revoked", "failed": "unlinked-not-revoked"}.get(
        revocation, "unlinked"
    )
    return RedirectResponse(f"/account?done={done}#links", 303)


@router.post("/account/notify")
def set_notify_by(
    request: Request,
    viewer: SignedInShopper,
    notify_by: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    if notify_by not in NOTIFY_LABELS:
        return render_account_page(
            request, viewer, 400, notify_error="Choose one of the three ways.", chosen=notify_by
        )
    with unit_of_work(request) as connection:
        account_data.set_notify_by(connection, viewer.id, notify_by)
    return RedirectResponse("/account?done=notify#notify", 303)


@router.post("/account/address")
def save_shipping_address(
    request: Request,
    viewer: SignedInShopper,
    sent: Annotated[AddressForm, Depends(address_form)],
) -> Response:
    """The saved shipping address (issue 12): checked as the checkout checks one, each
    problem beside its field; a buy with a post ships there."""
    form = sent.typed()
    address, _first = checkout.read_address(form)
    if address is None:
        summary, fields = form_problems(form, way_to_pay=True)
        return render_account_page(
            request,
            viewer,
            400,
            address_error=summary,
            address_errors=fields,
            address_form=form,
        )
    with unit_of_work(request) as connection:
        save_address(connection, viewer.id, address, hashcart_of(request).clock.now())
    return RedirectResponse("/account?done=address#address", 303)


@router.post("/account/store-account")
def link_store_account(
    request: Request,
    viewer: SignedInShopper,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Link the shopper's own account at the merchant's store (issue 16): signed in there
    once with its email and password (never kept: only the store's session, sealed), so
    carts handed over go to their own active order."""
    from hashcart.ports import StoreRefused, StoreUnreachable
    from hashcart.services.store_sync import link_store_account as link_at_store

    app = hashcart_of(request)
    found = store_account_of(request, viewer)
    accounts = app.store_accounts()
    if found is None or accounts is None:
        return RedirectResponse("/account", 303)
    if not email.strip() or not password:
        why = "Give the email and password of your account at the store."
        return render_account_page(request, viewer, 400, store_error=why)
    try:
        link_at_store(app.commerce_store(), accounts, viewer.id, email.strip(), password)
    except StoreRefused as refusal:
        why = f"{found.label} did not sign you in: {refusal}"
        return render_account_page(request, viewer, 400, store_error=why)
    except StoreUnreachable:
        why = f"{found.label} did not answer. Nothing changed; please try again."
        return render_account_page(request, viewer, 503, store_error=why)
    return RedirectResponse("/account?done=store-linked#store-account", 303)


@router.post("/account/store-account/unlink")
def unlink_store_account(request: Request, viewer: SignedInShopper) -> Response:
    app = hashcart_of(request)
    accounts = app.store_accounts()
    if accounts is not None and app.settings.store != "builtin":
        accounts.forget(app.settings.store, viewer.id)
    return RedirectResponse("/account?done=store-unlinked#store-account", 303)


@router.post("/account/reminders")
def set_cart_reminders(
    request: Request,
    viewer: SignedInShopper,
    cart_reminders: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A reminder of a waiting cart (issue 14): a ticked box asks for it, an unticked one
    (the field absent) says no."""
    on = cart_reminders == "on"
    with unit_of_work(request) as connection:
        reminders.set_reminders(connection, viewer.id, on)
    return RedirectResponse(f"/account?done=reminders-{'on' if on else 'off'}#reminders", 303)


@router.get("/account/export")
def export(request: Request, viewer: SignedInShopper) -> Response:
    """Everything we hold about the shopper, as a JSON file to keep."""
    app = hashcart_of(request)
    now = app.clock.now()
    with read_only(request) as connection:
        data = account_data.export(connection, viewer.id)
    document = {"exported_at": now.isoformat(), "shop": app.settings.shop_name, **data}
    filename = f"hashcart-account-{now:%Y%m%d}.json"
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/account/delete")
def delete_account(
    request: Request,
    viewer: SignedInShopper,
    password: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    # The sign-in check, with its rate limits: a borrowed session cannot guess its way to
    # deleting someone's account.
    outcome = check_sign_in(request, "shopper", viewer.person.email, password)
    if isinstance(outcome, SignInRefused) or outcome.id != viewer.id:
        message = (
            outcome.message
            if isinstance(outcome, SignInRefused) and outcome.status_code == 429
            else "That password is not right, so nothing was deleted."
        )
        status = outcome.status_code if isinstance(outcome, SignInRefused) else 400
        retry = outcome.retry_after_seconds if isinstance(outcome, SignInRefused) else None
        return with_retry_after(
            render_account_page(request, viewer, status, delete_error=message), retry
        )
    app = hashcart_of(request)
    now = app.clock.now()
    with unit_of_work(request) as connection:
        erased = account_data.erase_customer(connection, viewer.id, now)
    if erased is not None:
        # The erasure is committed; the provider is asked now to forget the card and the
        # customer, and again by the payment sweep while it does not answer.
        settle_cleanups(app.unit_of_work, app.provider_cleaners().get, now, erased.cleanups)
    response = render(request, "account/goodbye.html", shopper=None, csrf_token="")
    response.delete_cookie(SESSION_COOKIES["shopper"], path="/")
    return response
