"""The shop front at /s/<shop_slug>: the shop's shoppable posts as a store, newest first
(only the posts of the shop's own accounts when the setting `shop_accounts` names them).

Each post shows the products it links to at today's price, how to get them by replying on
the network, and for a signed-in shopper an "Add to cart" form (`POST /cart/add` with
`product_id`, `source_network`, `source_post_id` and `next`, handled by the cart area).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from hashcart.domain.carts import UNAVAILABLE
from hashcart.domain.posts import Network
from hashcart.networks.post_urls import post_url, web_url
from hashcart.networks.x.guidance import REPLY_RULE, ask_with
from hashcart.views.keyset import MAX_CURSOR, BadCursor
from hashcart.views.pictures import thumbnails
from hashcart.views.product_page import product_path
from hashcart.views.shopfront import (
    FrontPage,
    FrontPost,
    FrontProduct,
    cart_quantities,
    count_front_posts,
    front_page,
    shoppable_posts,
)
from hashcart.web.context import (
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    shopper_of,
)

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

POSTS_PER_PAGE = 12
_AVAILABILITY_WORDS = {"in_stock": "In stock", "preorder": "Preorder"}


@dataclass(frozen=True)
class ProductCard:
    product_id: str
    title: str
    href: str | None  # the product's page on the shop, only when it is a plain http(s) URL
    price_amount: Decimal | None
    currency: str | None
    available: bool
    availability: str  # as a shopper reads it
    reply_with: str  # what to reply to the post to get this product: "#cart" or "#cart 2"
    in_cart: int  # how many the signed-in shopper has in their cart (0 when signed out)
    page_href: str = ""  # the product's page on this shop front (issue 14)
    image_id: int | None = None  # its thumbnail (views/pictures); None: a placeholder


@dataclass(frozen=True)
class PostCard:
    network: str
    post_id: str
    handle: str
    handle_is_id: bool  # no handle known (Jetstream): the stable account id stands in
    text: str
    created_at: datetime
    href: str | None  # the post on its network, when its ids say where
    products: tuple[ProductCard, ...]


def _availability(product: FrontProduct) -> str:
    if product.availability in UNAVAILABLE:
        return "Out of stock"
    return _AVAILABILITY_WORDS.get(
        product.availability, product.availability.replace("_", " ").capitalize()
    )


def _product_card(
    product: FrontProduct,
    cart_tag: str,
    several: bool,
    in_cart: Mapping[str, int],
    ask: str = "",
    pictures: Mapping[str, int] | None = None,
    shop_slug: str = "",
) -> ProductCard:
    return ProductCard(
        product_id=product.product_id,
        title=product.title,
        href=web_url(product.link),
        price_amount=product.price_amount,
        currency=product.currency,
        available=product.availability not in UNAVAILABLE,
        availability=_availability(product),
        # On a post with several products the reply names which one (`#cart 2`).
        # On X, with the shop's mention first (X's reply rule: networks/x/guidance).
        reply_with=(f"{ask}#{cart_tag} {product.position}" if several else f"{ask}#{cart_tag}"),
        in_cart=in_cart.get(product.product_id, 0),
        page_href=product_path(shop_slug, product.product_id),
        image_id=(pictures or {}).get(product.product_id),
    )


def shown_handle(post: FrontPost) -> str:
    """`@handle`; Jetstream carries no handles, so a Bluesky author shows as the handle the
    shop knows for the DID, else as the DID itself."""
    handle = post.author_handle.lstrip("@") or post.known_handle
    return f"@{handle}" if handle else post.author_id


def _post_card(
    post: FrontPost,
    cart_tag: str,
    in_cart: Mapping[str, int],
    pictures: Mapping[str, int] | None = None,
    shop_slug: str = "",
) -> PostCard:
    several = len(post.products) > 1
    # The shop's posts are the shop's: on X their author is the account to mention.
    mention = ask_with(post.author_handle, cart_tag) if post.network == Network.X else None
    ask = mention.removesuffix(f"#{cart_tag}") if mention else ""
    return PostCard(
        network=post.network,
        post_id=post.post_id,
        handle=shown_handle(post),
        handle_is_id=not (post.author_handle.lstrip("@") or post.known_handle),
        text=post.text,
        created_at=post.created_at,
        href=post_url(post.network, post.post_id, post.author_id, post.author_handle),
        products=tuple(
            _product_card(p, cart_tag, several, in_cart, ask, pictures, shop_slug)
            for p in post.products
        ),
    )


def _page_number(raw: str | None) -> int | None:
    """`?page=` as a page number; None when it names no page at all."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or len(raw) > 6:
        return None
    number = int(raw)
    return number if number >= 1 else None


def _page_query(number: int, after: str, before: str) -> str:
    """This page's query string, as its forms come back to it."""
    if after:
        return "?" + urlencode({"after": after})
    if before:
        return "?" + urlencode({"before": before})
    return f"?page={number}" if number > 1 else ""


def _not_found(request: Request, message: str) -> Response:
    return render(request, "error.html", 404, title="Not found", message=message)


@router.get("/s/{shop_slug}")
def shop_front(
    request: Request,
    shop_slug: str,
    page: str | None = None,
    after: str = "",
    before: str = "",
) -> Response:
    """The front's pages: the newest posts, then `?after=CURSOR` (older) and `?before=CURSOR`
    (newer), read by key; `?page=N` links (the paging before) keep working."""
    app = hashcart_of(request)
    if shop_slug != app.settings.shop_slug:
        return _not_found(request, "There is no shop at this address.")
    number = _page_number(page)
    if number is None or len(after) > MAX_CURSOR or len(before) > MAX_CURSOR:
        return _not_found(request, "There is no such page of this shop.")
    # The tags and shop accounts in force: the merchant may have changed them in the console.
    settings = app.effective_settings()
    cart_tag = settings.cart_tags[0]
    shopper = shopper_of(request)
    accounts = settings.parsed_shop_accounts()
    now = app.clock.now()
    with read_only(request) as connection:
        found: FrontPage
        try:
            if number > 1 and not (after or before):
                found = shoppable_posts(connection, number, POSTS_PER_PAGE, accounts, now)
            else:
                found = front_page(
                    connection, POSTS_PER_PAGE, accounts, after=after, before=before, now=now
                )
        except BadCursor:
            return _not_found(request, "There is no such page of this shop.")
        # What is in their cart already, whether added here or by a reply.
        in_cart = cart_quantities(connection, shopper.id) if shopper else {}
        pictures = thumbnails(
            connection, [product.product_id for post in found.posts for product in post.products]
        )
    if found.page > found.pages or ((after or before) and not found.posts):
        return _not_found(request, "There is no such page of this shop.")
    here = f"/s/{shop_slug}" + _page_query(number, after, before)
    return render(
        request,
        "shop/front.html",
        title="Shop our posts",
        posts=[_post_card(post, cart_tag, in_cart, pictures, shop_slug) for post in found.posts],
        page=found,
        cart_tag=cart_tag,
        x_ask=ask_with(settings.x_shop_handle, cart_tag),
        x_reply_rule=REPLY_RULE,
        here=here,
        sign_in_href="/sign-in?next=" + quote(here, safe=""),
        front_path=f"/s/{shop_slug}",
    )


@router.get("/s/{shop_slug}/count")
def shop_front_count(request: Request, shop_slug: str) -> Response:
    """How many posts the shop front has: its script polls this to offer new posts."""
    app = hashcart_of(request)
    if shop_slug != app.settings.shop_slug:
        return JSONResponse({"detail": "no such shop"}, 404)
    accounts = app.effective_settings().parsed_shop_accounts()
    with read_only(request) as connection:
        total = count_front_posts(connection, app.clock.now(), accounts)
    return JSONResponse({"total": total}, headers={"Cache-Control": "no-store"})
