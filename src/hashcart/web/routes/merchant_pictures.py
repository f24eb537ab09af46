"""Merchant: a product's main picture, uploaded or given as a link, from the console's
product page. An upload is checked and resized at once (services/images); a link is
fetched at once too, and a failure is shown with its reason, the link kept. A later feed
row with its own `image_link` replaces either."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.services.catalog import check_image_link
from hashcart.services.images import fetch_link, upload_image
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of
from hashcart.web.routes.merchant_catalog import (
    offer_form,
    product_form_page,
    product_or_not_found,
)

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


def _saved(product_id: str) -> Response:
    return RedirectResponse(f"/merchant/catalog/{quote(product_id, safe='')}?saved=1", 303)


# Its own path, as /stock/: a product id may hold slashes (see merchant_catalog).
@router.post("/picture/{product_id:path}")
def picture_submit(
    request: Request,
    product_id: str,
    viewer: SignedInMerchant,
    picture: Annotated[UploadFile | None, File()] = None,
    image_link: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    found = product_or_not_found(request, product_id)
    if isinstance(found, Response):
        return found
    app = hashcart_of(request)

    def again(problem: str, typed: str | None = None, field: str = "image_link") -> Response:
        form = offer_form(found)
        return product_form_page(
            request,
            found,
            form,
            400,
            field_errors={field: problem},
            picture_error=problem,
            picture_link=typed,
        )

    if picture is not None and picture.filename:
        limits = app.image_limits()
        data = picture.file.read(limits.max_bytes + 1)
        with app.unit_of_work() as uow:
            problem = upload_image(uow, product_id, data, app.clock, limits)
        return (
            _saved(product_id)
            if problem is None
            else again(f"{picture.filename}: {problem}", field="picture")
        )
    try:
        link = check_image_link(image_link)
    except ValueError as error:
        return again(f"{str(error)[:1].upper()}{str(error)[1:]}.", image_link)
    if link is None:
        return again("Choose a picture to upload, or give its link.", image_link, "picture")
    with app.unit_of_work() as uow:
        uow.images.set_product_image(product_id, link)
    fetcher = app.image_fetcher()
    try:
        problem = fetch_link(app.unit_of_work, fetcher, app.clock, app.image_limits(), link)
    finally:
        fetcher.close()
    return _saved(product_id) if problem is None else again(f"The link is kept, but {problem}.")
