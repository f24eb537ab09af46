"""Merchant: offers by hashtag (issue 12). The list with loads and redemptions per offer, a
form to add one, and pause / resume (the same use cases as `hashcart offers`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.ports import OfferTagTaken
from hashcart.services.offers import (
    OfferInputError,
    add_offer,
    list_offers,
    offer_json,
    set_paused,
)
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, render

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

# A form field longer than anything an offer keeps is refused before it is read further.
MAX_FIELD = 200
MAX_PRODUCTS_FIELD = 20_000
_FORM_FIELDS = ("tag", "kind", "value", "currency", "products", "limit", "expires")


def _page(
    request: Request,
    status_code: int = 200,
    *,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    app = hashcart_of(request)
    now = app.clock.now()
    offers = [offer_json(counted, now) for counted in list_offers(app.unit_of_work)]
    return render(
        request,
        "merchant/offers.html",
        status_code,
        title="Offers",
        offers=offers,
        error=error,
        field_errors=field_errors or {},
        form=form or {"kind": "percent"},
        notice=notice,
    )


@router.get("/offers")
def offers_page(request: Request, viewer: SignedInMerchant, done: str = "") -> Response:
    notices = {
        "added": "Offer added: shoppers load it by posting its tag.",
        "paused": "Offer paused: posts of its tag load nothing until you resume it.",
        "resumed": "Offer resumed.",
    }
    return _page(request, notice=notices.get(done))


@router.post("/offers")
def offers_add(
    request: Request,
    viewer: SignedInMerchant,
    tag: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    kind: Annotated[str, Form(max_length=MAX_FIELD)] = "percent",
    value: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    currency: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    products: Annotated[str, Form(max_length=MAX_PRODUCTS_FIELD)] = "",
    limit: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    expires: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    form = dict(
        zip(_FORM_FIELDS, (tag, kind, value, currency, products, limit, expires), strict=True)
    )
    app = hashcart_of(request)
    try:
        if not limit.strip():
            count = None
        elif limit.strip().isascii() and limit.strip().isdigit() and len(limit.strip()) <= 9:
            count = int(limit.strip())
        else:
            raise OfferInputError("the limit must be a whole number of shoppers, or empty")
        add_offer(
            app.unit_of_work,
            app.effective_settings(),
            app.clock.now(),
            tag=tag.strip(),
            percent=value if kind == "percent" else None,
            amount=value if kind == "amount" else None,
            currency=currency.strip() or None,
            products=products if products.strip() else None,
            limit=count,
            expires=expires.strip() or None,
        )
    except (OfferInputError, OfferTagTaken) as problem:
        message = str(problem)
        field = "tag" if isinstance(problem, OfferTagTaken) else _field_of(message)
        # The command line's option names read as the form's fields.
        for option, words in (
            ("--percent", "the percentage"),
            ("--amount", "the amount"),
            ("--currency", "the currency"),
            ("--products", "the products"),
            ("--limit", "the limit"),
            ("--expires", "the end"),
        ):
            message = message.replace(option, words)
        sentence = message[:1].upper() + message[1:] + "."
        return _page(
            request,
            400,
            error=sentence,
            field_errors={field: sentence} if field else {},
            form=form,
        )
    return RedirectResponse("/merchant/offers?done=added", 303)


# Which field a refusal is about, by the words the command line's checks use (the first
# that matches): the problem is then shown beside that field (issue 14).
_FIELD_WORDS = (
    ("currency", "currency"),
    ("--percent", "value"),
    ("--amount", "value"),
    ("--products", "products"),
    ("no product with id", "products"),
    ("limit", "limit"),
    ("--expires", "expires"),
    ("offer tag", "tag"),
)


def _field_of(message: str) -> str | None:
    return next((field for words, field in _FIELD_WORDS if words in message), None)


def _set(request: Request, offer_id: str, paused: bool) -> Response:
    app = hashcart_of(request)
    if not (offer_id.isascii() and offer_id.isdigit() and len(offer_id) <= 12):
        return _not_found(request)
    if not set_paused(app.unit_of_work, int(offer_id), paused):
        return _not_found(request)
    return RedirectResponse(f"/merchant/offers?done={'paused' if paused else 'resumed'}", 303)


def _not_found(request: Request) -> Response:
    return render(request, "error.html", 404, title="Not found", message="There is no such offer.")


@router.post("/offers/{offer_id}/pause")
def offer_pause(request: Request, viewer: SignedInMerchant, offer_id: str) -> Response:
    return _set(request, offer_id, True)


@router.post("/offers/{offer_id}/resume")
def offer_resume(request: Request, viewer: SignedInMerchant, offer_id: str) -> Response:
    return _set(request, offer_id, False)
