"""The shopper's cart and wish list: lines at today's prices, where each came from, and the
changes a shopper makes (quantity, remove, move between the two lists, add from the shop).

Contract with the shop front: `POST /cart/add` takes `product_id`, optional `source_network`
and `source_post_id` (the shoppable post it was added from) and optional `next` (a local
path to return to), and adds one (or one more) of the product.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.networks.post_urls import post_url, web_url
from hashcart.store import shopping
from hashcart.store.shopping import AddOutcome, ListItem, ListKind, MoveOutcome
from hashcart.views.pictures import thumbnails
from hashcart.web.cart_badge import remember_added
from hashcart.web.context import (
    SignInRequired,
    Viewer,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    safe_next,
    shopper_of,
    sign_in_redirect_target,
    unit_of_work,
)
from hashcart.web.store_checkout import allow_store_checkout, store_label_of

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

PATHS: dict[ListKind, str] = {"cart": "/cart", "wishlist": "/wishlist"}
TEMPLATES: dict[ListKind, str] = {"cart": "shop/cart.html", "wishlist": "shop/wishlist.html"}
TITLES: dict[ListKind, str] = {"cart": "Your cart", "wishlist": "Your wish list"}
_AVAILABILITY_WORDS = {
    "in_stock": "In stock",
    "preorder": "Preorder",
    "out_of_stock": "Out of stock",
    "discontinued": "No longer sold",
}
_UNAVAILABLE_WORDS = {"out_of_stock": "out of stock", "discontinued": "no longer sold"}

# What a finished change says on the page it returns to (`?done=`); fixed texts only, so
# nobody can make the page say something by crafting a link.
DONE_NOTICES = {
    "added": "Added to your cart.",
    "one_more": "One more added to your cart.",
    "quantity": "Quantity updated.",
    "removed": "Removed.",
    "to_wishlist": "Moved to your wish list.",
    "to_cart": "Moved to your cart.",
    "merged": "Moved: it was already there, so the quantities were added up.",
}


def _require_shopper_then(back_to: str) -> Callable[[Request], Viewer]:
    """A signed-in shopper; otherwise sign in and come back to `back_to` (a page, since
    the browser cannot repeat a POST after signing in)."""

    def require(request: Request) -> Viewer:
        viewer = shopper_of(request)
        if viewer is None:
            raise SignInRequired("shopper", back_to)
        return viewer

    return require


CartShopper = Annotated[Viewer, Depends(_require_shopper_then("/cart"))]
WishlistShopper = Annotated[Viewer, Depends(_require_shopper_then("/wishlist"))]


@dataclass(frozen=True)
class LineView:
    """A line as the page shows it: the product now, its link, and where it came from."""

    item: ListItem
    product_href: str | None
    availability: str
    # "reply" (a #cart reply on a network) or "shop" (added on these pages).
    via: str
    network: str | None
    handle: str | None  # the shoppable post's author, "@name"; None when unknown
    post_href: str | None
    typed_quantity: str
    image_id: int | None = None  # the product's thumbnail (views/pictures); None: placeholder


def line_view(
    item: ListItem,
    typed: Mapping[int, str] | None = None,
    pictures: Mapping[str, int] | None = None,
) -> LineView:
    origin = item.origin
    href = None
    if origin.network and origin.post_id:
        href = post_url(
            origin.network, origin.post_id, origin.author_id or "", origin.author_handle or ""
        )
    handle = origin.author_handle.lstrip("@") if origin.author_handle else ""
    return LineView(
        item=item,
        product_href=web_url(item.link),
        availability=_AVAILABILITY_WORDS.get(
            item.availability, item.availability.replace("_", " ").capitalize()
        ),
        via=origin.via,
        network=origin.network,
        handle=f"@{handle}" if handle else None,
        post_href=href,
        typed_quantity=(typed or {}).get(item.id, str(item.quantity)),
        image_id=(pictures or {}).get(item.product_id),
    )


def totals_by_currency(items: list[ListItem]) -> dict[str, Decimal]:
    """What the lines that can be bought now come to, per currency."""
    totals: dict[str, Decimal] = {}
    for item in items:
        if item.available and item.line_total is not None and item.currency:
            totals[item.currency] = totals.get(item.currency, Decimal(0)) + item.line_total
    return totals


def _list_page(
    request: Request,
    kind: ListKind,
    viewer: Viewer,
    status_code: int = 200,
    *,
    error: str | None = None,
    notice: str | None = None,
    typed: Mapping[int, str] | None = None,
) -> Response:
    with read_only(request) as connection:
        items = shopping.list_items(connection, kind, viewer.id)
        pictures = thumbnails(connection, [item.product_id for item in items])
    settings = hashcart_of(request).effective_settings()
    store_label = store_label_of(request) if kind == "cart" else None
    page = render(
        request,
        TEMPLATES[kind],
        status_code,
        title=TITLES[kind],
        lines=[line_view(item, typed, pictures) for item in items],
        totals=totals_by_currency(items),
        has_unavailable=any(not item.available for item in items),
        max_quantity=settings.max_quantity,
        cart_tag=settings.cart_tags[0],
        wishlist_tag=settings.wishlist_tags[0],
        store_label=store_label,
        error=error,
        notice=notice,
    )
    if store_label is not None:
        allow_store_checkout(request, page)
    return page


def _done(kind: ListKind, what: str) -> Response:
    return RedirectResponse(f"{PATHS[kind]}?done={what}", 303)


def _not_yours(request: Request, kind: ListKind) -> Response:
    where = "cart" if kind == "cart" else "wish list"
    return render(
        request,
        "error.html",
        404,
        title="Not found",
        message=f"That line is not in your {where}. Nothing was changed.",
    )


def _line_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


def _parse_quantity(raw: str, most: int) -> int | None:
    text = raw.strip()
    if not text.isdigit() or len(text) > 6:
        return None
    value = int(text)
    return value if 1 <= value <= most else None


# pages --------------------------------------------------------------------------------


@router.get("/cart")
def cart_page(request: Request, viewer: CartShopper, done: str = "") -> Response:
    return _list_page(request, "cart", viewer, notice=DONE_NOTICES.get(done))


@router.get("/wishlist")
def wishlist_page(request: Request, viewer: WishlistShopper, done: str = "") -> Response:
    return _list_page(request, "wishlist", viewer, notice=DONE_NOTICES.get(done))


# finish at the merchant's own store (issue 16) ---------------------------------------------


@router.post("/cart/handoff")
def hand_off_to_store(request: Request, viewer: CartShopper) -> Response:
    """Hand every line of the cart the store sells over to it, record the handoff (so the
    order that comes back counts for the posts), and send the shopper there (303)."""
    from hashcart.ports import StoreRefused, StoreUnreachable
    from hashcart.services.store_sync import NothingToHandOff, hand_off_cart
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    app = hashcart_of(request)
    if app.settings.store == "builtin":
        return RedirectResponse("/checkout", 303)
    try:
        store = app.commerce_store()
        handoff = hand_off_cart(
            app.unit_of_work,
            store,
            app.clock,
            viewer.id,
            viewer.person.email,
            app.store_accounts(),
        )
    except (StoreNotConfigured, UnknownStore):
        return _list_page(
            request, "cart", viewer, 503, error="Checking out at the store is not set up yet."
        )
    except NothingToHandOff as problem:
        return _list_page(request, "cart", viewer, 409, error=str(problem))
    except StoreRefused as refusal:
        return _list_page(
            request, "cart", viewer, 409, error=f"The store could not take this cart: {refusal}"
        )
    except StoreUnreachable:
        return _list_page(
            request,
            "cart",
            viewer,
            503,
            error="The store did not answer. Your cart is unchanged; please try again.",
        )
    return RedirectResponse(handoff.checkout_url, 303)


# add from the shop ----------------------------------------------------------------------


@router.post("/cart/add")
def add_to_cart(
    request: Request,
    product_id: Annotated[str, Form()] = "",
    source_network: Annotated[str, Form()] = "",
    source_post_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    back_to = safe_next(next, "/cart")
    viewer = shopper_of(request)
    if viewer is None:
        return RedirectResponse(sign_in_redirect_target("shopper", back_to), 303)
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()
    with unit_of_work(request) as connection:
        # Credit the post only when it really is a shoppable post carrying this product.
        credited = shopping.shoppable_post_naming(
            connection, source_network, source_post_id, product_id, accounts
        )
        source = shopping.web_source(source_network, source_post_id) if credited else ""
        outcome = shopping.add_to_cart(
            connection,
            viewer.id,
            product_id,
            source,
            app.settings.max_quantity,
            app.clock.now(),
        )
        product = shopping.product_now(connection, product_id)
    if outcome in (AddOutcome.ADDED, AddOutcome.ONE_MORE):
        if next:
            # Back to the page they were on, which confirms the add once (web/cart_badge).
            response = RedirectResponse(back_to, 303)
            remember_added(request, response, product_id)
            return response
        return _done("cart", outcome.value)
    if outcome is AddOutcome.UNAVAILABLE and product is not None:
        why = _UNAVAILABLE_WORDS.get(product.availability, "unavailable")
        error = f"{product.title} is {why}, so it was not added to your cart."
    elif outcome is AddOutcome.AT_MOST and product is not None:
        error = (
            f"You already have the most of {product.title} one order can take "
            f"({app.settings.max_quantity})."
        )
    else:
        error = "That product is not in the shop's catalog, so nothing was added."
    return _list_page(request, "cart", viewer, 409, error=error)


# changes to a line ----------------------------------------------------------------------


def _change_quantity(
    request: Request, kind: ListKind, viewer: Viewer, raw_id: str, raw: str
) -> Response:
    line_id = _line_id(raw_id)
    most = hashcart_of(request).settings.max_quantity
    quantity = _parse_quantity(raw, most)
    item = None
    with unit_of_work(request) as connection:
        if line_id is not None:
            item = shopping.find_item(connection, kind, viewer.id, line_id)
        if item is not None and quantity is not None:
            shopping.set_quantity(connection, kind, viewer.id, item.id, quantity)
    if item is None:
        return _not_yours(request, kind)
    if quantity is None:
        return _list_page(
            request,
            kind,
            viewer,
            400,
            error=f"Enter a quantity from 1 to {most} (to take it out, use Remove).",
            typed={item.id: raw[:20]},
        )
    return _done(kind, "quantity")


def _remove(request: Request, kind: ListKind, viewer: Viewer, raw_id: str) -> Response:
    line_id = _line_id(raw_id)
    with unit_of_work(request) as connection:
        removed = line_id is not None and shopping.remove(connection, kind, viewer.id, line_id)
    return _done(kind, "removed") if removed else _not_yours(request, kind)


def _move(request: Request, kind: ListKind, viewer: Viewer, raw_id: str) -> Response:
    line_id = _line_id(raw_id)
    if line_id is None:
        return _not_yours(request, kind)
    app = hashcart_of(request)
    with unit_of_work(request) as connection:
        item = shopping.find_item(connection, kind, viewer.id, line_id)
        outcome = shopping.move(
            connection, kind, viewer.id, line_id, app.settings.max_quantity, app.clock.now()
        )
    if outcome is MoveOutcome.MISSING or item is None:
        return _not_yours(request, kind)
    if outcome is MoveOutcome.UNAVAILABLE:
        return _list_page(
            request,
            kind,
            viewer,
            409,
            error=f"{item.title} cannot be bought right now, so it stays on your wish list.",
        )
    if outcome is MoveOutcome.MERGED:
        return _done(kind, "merged")
    return _done(kind, "to_wishlist" if kind == "cart" else "to_cart")


@router.post("/cart/lines/{line_id}/quantity")
def cart_quantity(
    request: Request, viewer: CartShopper, line_id: str, quantity: Annotated[str, Form()] = ""
) -> Response:
    return _change_quantity(request, "cart", viewer, line_id, quantity)


@router.post("/cart/lines/{line_id}/remove")
def cart_remove(request: Request, viewer: CartShopper, line_id: str) -> Response:
    return _remove(request, "cart", viewer, line_id)


@router.post("/cart/lines/{line_id}/move")
def cart_to_wishlist(request: Request, viewer: CartShopper, line_id: str) -> Response:
    return _move(request, "cart", viewer, line_id)


@router.post("/wishlist/lines/{line_id}/quantity")
def wishlist_quantity(
    request: Request, viewer: WishlistShopper, line_id: str, quantity: Annotated[str, Form()] = ""
) -> Response:
    return _change_quantity(request, "wishlist", viewer, line_id, quantity)


@router.post("/wishlist/lines/{line_id}/remove")
def wishlist_remove(request: Request, viewer: WishlistShopper, line_id: str) -> Response:
    return _remove(request, "wishlist", viewer, line_id)


@router.post("/wishlist/lines/{line_id}/move")
def wishlist_to_cart(request: Request, viewer: WishlistShopper, line_id: str) -> Response:
    return _move(request, "wishlist", viewer, line_id)
