"""The product page at /s/<shop_slug>/p/<product_id>: the product's pictures (hashcart's own
copies), its description, price, variants to pick from, how many are left, "Add to cart"
(`POST /cart/add`, back here) and the shop's posts that carry it."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.domain.carts import UNAVAILABLE
from hashcart.domain.storable import is_storable
from hashcart.networks.post_urls import post_url, web_url
from hashcart.services.feed_import import MAX_PRODUCT_ID
from hashcart.views.product_page import (
    ProductDetails,
    VariantChoice,
    product_details,
    product_path,
)
from hashcart.web.context import csrf_protected, hashcart_of, read_only, render
from hashcart.web.routes.shopfront import shown_handle

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

_AVAILABILITY_WORDS = {"in_stock": "In stock", "preorder": "Preorder"}
# "Only 3 left" from this many units down.
FEW_LEFT = 5


def stock_words(product: ProductDetails) -> str:
    """How a shopper reads the product's state: out of stock, only a few left, in stock."""
    if product.availability in UNAVAILABLE or product.left == 0:
        return "Out of stock"
    if product.left is not None and product.left <= FEW_LEFT:
        return f"Only {product.left} left"
    return _AVAILABILITY_WORDS.get(
        product.availability, product.availability.replace("_", " ").capitalize()
    )


def variant_label(variant: VariantChoice) -> str:
    return " / ".join(value for value in (variant.color, variant.size) if value) or (
        variant.product_id
    )


def _not_found(request: Request, message: str) -> Response:
    return render(request, "error.html", 404, title="Not found", message=message)


@router.get("/s/{shop_slug}/p/{product_id:path}")
def product_page(request: Request, shop_slug: str, product_id: str) -> Response:
    app = hashcart_of(request)
    if shop_slug != app.settings.shop_slug:
        return _not_found(request, "There is no shop at this address.")
    if len(product_id) > MAX_PRODUCT_ID or not is_storable(product_id):
        return _not_found(request, "The shop has no such product.")
    accounts = app.effective_settings().parsed_shop_accounts()
    with read_only(request) as connection:
        product = product_details(connection, product_id, accounts)
    if product is None:
        return _not_found(request, "The shop has no such product.")
    here = product_path(shop_slug, product_id)
    available = product.availability not in UNAVAILABLE and product.left != 0
    return render(
        request,
        "shop/product.html",
        title=product.title,
        product=product,
        available=available,
        stock_words=stock_words(product),
        shop_href=web_url(product.link),
        variants=[
            (variant_label(v), product_path(shop_slug, v.product_id), v) for v in product.variants
        ],
        posts=[
            (
                post,
                shown_handle(post),
                post_url(post.network, post.post_id, post.author_id, post.author_handle),
            )
            for post in product.posts
        ],
        here=here,
        sign_in_href="/sign-in?next=" + quote(here, safe=""),
        front_path=f"/s/{shop_slug}",
    )
