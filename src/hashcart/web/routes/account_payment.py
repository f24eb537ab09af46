"""The account page's payment card: a SetupIntent for Stripe's card form, and keeping the
card it saved (payments/stripe_cards). The browser names only the SetupIntent; what was
saved, and that it is this shopper's, is asked of Stripe."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hashcart.payments.stripe_cards import CardNotSaved, CardSetup
from hashcart.payments.stripe_client import StripeUnreachable
from hashcart.ports import SavedPaymentMethod
from hashcart.services.saved_cards import remove_saved_card, settle_cleanups
from hashcart.web.account_page import render_account_page
from hashcart.web.context import SignedInShopper, csrf_protected, hashcart_of

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

UNREACHABLE = "Stripe did not answer, so no card was saved. Try again in a moment."


@router.post("/account/payment-method/setup")
async def start_card_setup(request: Request, viewer: SignedInShopper) -> Response:
    cards = hashcart_of(request).stripe_cards()
    if cards is None:
        return JSONResponse({"detail": "This shop does not save cards."}, status_code=404)

    def start() -> CardSetup:
        return cards.start_setup(viewer.id, viewer.person.email)

    try:
        setup = await run_in_threadpool(start)
    except StripeUnreachable:
        return JSONResponse({"detail": UNREACHABLE}, status_code=503)
    # The client secret lets the browser confirm this one SetupIntent: never cached.
    return JSONResponse(
        {"client_secret": setup.client_secret}, headers={"Cache-Control": "no-store"}
    )


@router.post("/account/payment-method/saved")
async def card_saved(
    request: Request,
    viewer: SignedInShopper,
    setup_intent: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    cards = hashcart_of(request).stripe_cards()
    if cards is None:
        return render_account_page(
            request, viewer, 404, card_error="This shop does not save cards."
        )

    def finish() -> SavedPaymentMethod:
        return cards.finish_setup(viewer.id, setup_intent)

    try:
        await run_in_threadpool(finish)
    except CardNotSaved as refused:
        return render_account_page(request, viewer, 400, card_error=str(refused))
    except StripeUnreachable:
        return render_account_page(request, viewer, 503, card_error=UNREACHABLE)
    return RedirectResponse("/account?done=card#payment", 303)


@router.post("/account/payment-method/remove")
def remove_card(request: Request, viewer: SignedInShopper) -> Response:
    """Forget the saved card at once (nothing charges it again), then ask the provider to
    detach it; while it does not answer, the payment sweep asks again."""
    app = hashcart_of(request)
    now = app.clock.now()
    removed = remove_saved_card(app.unit_of_work, viewer.id, now)
    if removed is None:
        return render_account_page(request, viewer, 404, card_error="No card is saved.")
    outcomes = settle_cleanups(app.unit_of_work, app.provider_cleaners().get, now, removed.cleanups)
    settled = all(outcome.done for outcome in outcomes) and len(outcomes) == len(removed.cleanups)
    done = "card-removed" if settled else "card-removed-owed"
    return RedirectResponse(f"/account?done={done}#payment", 303)
