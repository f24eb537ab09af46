"""Merchant: the catalog. List and search it, import a feed file, edit price and availability,
set the stock count (and see what checkouts hold of it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.domain.stock import UNKNOWN, StockCountError, parse_stock_count
from hashcart.domain.storable import is_storable
from hashcart.services.catalog import AVAILABILITY, FeedError
from hashcart.services.feed_import import MAX_AMOUNT, MAX_PRODUCT_ID, ImportReport, import_feed
from hashcart.services.images import ImagesReport
from hashcart.store import console_changes
from hashcart.views import console
from hashcart.views.pictures import picture_states
from hashcart.views.stock import StockLine, held_units, stock_line
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

# A feed larger than this is refused whole (a real catalog of many thousand rows is a few MB).
MAX_FEED_BYTES = 20 * 1024 * 1024
# The import report lists this many skipped rows, then says how many more there were.
SHOWN_PROBLEMS = 100
AVAILABILITY_CHOICES = sorted(AVAILABILITY)
# Pictures an import in the console fetches before it answers; the rest wait for
# `hashcart catalog images` (or the next import).
IMPORT_PICTURES = 50


def _catalog_page(
    request: Request,
    q: str = "",
    after: str = "",
    before: str = "",
    status_code: int = 200,
    report: ImportReport | None = None,
    import_error: str | None = None,
    images_report: ImagesReport | None = None,
    pictures_in_background: bool = False,
) -> Response:
    q = q.strip()
    now = hashcart_of(request).clock.now()
    with read_only(request) as connection:
        products = console.catalog(connection, q, after, before)
        shown = [product.product_id for product in products.items]
        held = held_units(connection, now, shown)
        pictures = picture_states(connection, shown)
    return render(
        request,
        "merchant/catalog.html",
        status_code,
        title="Catalog",
        products=products,
        page=products,
        q=q,
        query={"q": q} if q else {},
        report=report,
        shown_problems=SHOWN_PROBLEMS,
        availability_choices=AVAILABILITY_CHOICES,
        import_error=import_error,
        held=held,
        pictures=pictures,
        images_report=images_report,
        pictures_in_background=pictures_in_background,
    )


@router.get("/catalog")
def catalog(
    request: Request,
    viewer: SignedInMerchant,
    q: str = "",
    page: int = 1,  # the page number of old links: keyset paging starts them at the first
    after: str = "",
    before: str = "",
) -> Response:
    return _catalog_page(request, q[:200], after, before)


@router.post("/catalog/import")
def import_upload(
    request: Request,
    viewer: SignedInMerchant,
    feed: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if feed is None or not feed.filename:
        return _catalog_page(request, status_code=400, import_error="Choose a feed file first.")
    # Synchronous on purpose: the import is database work, so it runs in the thread pool.
    data = feed.file.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        return _catalog_page(
            request,
            status_code=400,
            import_error=f"{feed.filename}: larger than {MAX_FEED_BYTES // (1024 * 1024)} MB; "
            "nothing was imported. Import it from the command line: hashcart catalog import.",
        )
    try:
        app = hashcart_of(request)
        with app.unit_of_work() as uow:
            report = import_feed(uow.repository, data, app.clock.now())
    except FeedError as error:
        return _catalog_page(
            request,
            status_code=400,
            import_error=f"{feed.filename}: {error}. Nothing was imported.",
        )
    fetch = app.picture_fetch
    if fetch is not None and fetch.running:
        # `hashcart serve` fetches them in the background, one at a time, from now on.
        fetch.wake()
        return _catalog_page(request, report=report, pictures_in_background=True)
    # The feed's pictures, fetched now (a few; `hashcart catalog images` fetches the rest).
    images_report = app.fetch_images(batch=IMPORT_PICTURES)
    return _catalog_page(request, report=report, images_report=images_report)


@dataclass(frozen=True)
class OfferForm:
    price: str = ""
    currency: str = ""
    availability: str = ""


@dataclass(frozen=True)
class Offer:
    price_amount: Decimal | None
    currency: str | None
    availability: str


def parse_offer(form: OfferForm) -> Offer | str:
    """The offer the form asks for, or the message saying what to fix. An empty price means
    "price on request" (as a feed row without a price)."""
    availability = form.availability.strip().lower()
    if availability not in AVAILABILITY:
        return "Choose an availability: " + ", ".join(AVAILABILITY_CHOICES) + "."
    price_text = form.price.strip()
    currency = form.currency.strip().upper()
    if not price_text:
        if currency:
            return "Enter a price for that currency, or leave both empty for price on request."
        return Offer(None, None, availability)
    try:
        amount = Decimal(price_text)
    except InvalidOperation:
        return f"The price {price_text!r} is not a number: write it like 19.99."
    if not amount.is_finite() or amount < 0:
        return "The price must be zero or more."
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return "The price can have at most two digits after the point."
    if amount >= MAX_AMOUNT:
        return "The price is too large."
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        return "Enter the currency as its three-letter ISO 4217 code, like USD or EUR."
    return Offer(amount, currency, availability)


# Which field parse_offer's answer is about, by how it starts (the first that matches).
_OFFER_FIELDS = (
    ("Choose an availability", "availability"),
    ("Enter the currency", "currency"),
    ("", "price"),
)


def product_form_page(
    request: Request,
    product: console.Product,
    form: OfferForm,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    stock_typed: str | None = None,
    stock_error: str | None = None,
    picture_error: str | None = None,
    picture_link: str | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    with read_only(request) as connection:
        level = stock_line(connection, product.product_id, hashcart_of(request).clock.now())
        picture = picture_states(connection, [product.product_id]).get(product.product_id)
    if level is None:  # removed since it was read: show it as it was, nothing held
        level = StockLine(product.product_id, product.title, product.stock, 0)
    if stock_typed is None:
        stock_typed = "" if level.stock is None else str(level.stock)
    return render(
        request,
        "merchant/product.html",
        status_code,
        title=f"Edit {product.product_id}",
        product=product,
        form=form,
        availability_choices=AVAILABILITY_CHOICES,
        error=error,
        field_errors=field_errors or {},
        notice=notice,
        level=level,
        stock_typed=stock_typed,
        stock_error=stock_error,
        picture=picture,
        picture_error=picture_error,
        picture_link=(picture.link if picture else None) if picture_link is None else picture_link,
        max_picture_mb=hashcart_of(request).settings.image_max_bytes // (1024 * 1024),
    )


def not_found(request: Request, product_id: str) -> Response:
    return render(
        request,
        "error.html",
        404,
        title="No such product",
        # repr writes out a NUL or an undecodable byte; a long id is cut short.
        message=f"The catalog has no product {product_id[:80]!r}.",
    )


def findable(product_id: str) -> bool:
    """Whether a products row could have this id. One that could not (a NUL or an
    undecodable byte in the URL, an id too long) is looked up nowhere: PostgreSQL refuses a
    NUL in a query, which would answer 500 instead of 404."""
    return len(product_id) <= MAX_PRODUCT_ID and is_storable(product_id)


@router.get("/catalog/{product_id:path}")
def product_page(
    request: Request, product_id: str, viewer: SignedInMerchant, saved: bool = False
) -> Response:
    found = product_or_not_found(request, product_id)
    if isinstance(found, Response):
        return found
    return product_form_page(request, found, offer_form(found), notice="Saved." if saved else None)


def product_or_not_found(request: Request, product_id: str) -> console.Product | Response:
    """The catalog's product, or the page saying there is no such product."""
    if not findable(product_id):
        return not_found(request, product_id)
    with read_only(request) as connection:
        found = console.product(connection, product_id)
    return not_found(request, product_id) if found is None else found


def offer_form(product: console.Product) -> OfferForm:
    """The offer form as the product stands."""
    return OfferForm(
        price="" if product.price_amount is None else f"{product.price_amount:.2f}",
        currency=product.currency or "",
        availability=product.availability,
    )


@router.post("/catalog/{product_id:path}")
def product_submit(
    request: Request,
    product_id: str,
    viewer: SignedInMerchant,
    price: Annotated[str, Form(max_length=40)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
    availability: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if not findable(product_id):
        return not_found(request, product_id)
    form = OfferForm(price, currency, availability)
    offer = parse_offer(form)
    app = hashcart_of(request)
    with unit_of_work(request) as connection:
        found = console.product(connection, product_id)
        changed = (
            found is not None
            and not isinstance(offer, str)
            and console_changes.set_offer(
                connection,
                product_id,
                offer.price_amount,
                offer.currency,
                offer.availability,
                app.clock.now(),
            )
        )
    if found is None:
        return not_found(request, product_id)
    if isinstance(offer, str):
        field = next(key for start, key in _OFFER_FIELDS if offer.startswith(start))
        return product_form_page(
            request, found, form, 400, error=offer, field_errors={field: offer}
        )
    assert changed
    return RedirectResponse(f"/merchant/catalog/{quote(product_id, safe='')}?saved=1", 303)


# --- stock count ------------------------------------------------------------------------
# Its own path, not /catalog/{id}/stock: a product id may hold slashes, and the catalog's
# path route takes everything after /catalog/.


@router.post("/stock/{product_id:path}")
def stock_submit(
    request: Request,
    product_id: str,
    viewer: SignedInMerchant,
    stock: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set the product's count: a whole number of units, or empty (or `unknown`) for "not
    counted". Units checkouts hold stay held, even above a lowered count."""
    if not findable(product_id):
        return not_found(request, product_id)
    try:
        count = parse_stock_count(stock if stock.strip() else UNKNOWN)
    except StockCountError as error:
        said = str(error)
        problem: str | None = said[:1].upper() + said[1:] + "."
    else:
        problem = None
        app = hashcart_of(request)
        with app.unit_of_work() as uow:
            if not uow.repository.set_stock_count(product_id, count):
                return not_found(request, product_id)
    with read_only(request) as connection:
        found = console.product(connection, product_id)
    if found is None:
        return not_found(request, product_id)
    if problem is not None:
        return product_form_page(
            request,
            found,
            offer_form(found),
            400,
            stock_typed=stock,
            stock_error=problem,
            field_errors={"stock": problem},
        )
    return RedirectResponse(f"/merchant/catalog/{quote(product_id, safe='')}?saved=1", 303)
