"""`/demo/mail`: the demo's emails, readable in the browser. Only `hashcart demo --serve`
includes this router (web.app.create_app(demo=True)); anywhere else the address does not
exist, so a real shop never shows its customers' mail to anyone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hashcart.views.demo_mail import recent_emails
from hashcart.web.context import hashcart_of, read_only, render

router = APIRouter(include_in_schema=False)


@router.get("/demo/mail")
def demo_mail(request: Request) -> Response:
    shop_url = hashcart_of(request).settings.public_url
    with read_only(request) as connection:
        emails = recent_emails(connection, shop_url)
    page = render(request, "demo/mail.html", title="Demo mail", emails=emails)
    page.headers["Cache-Control"] = "no-store"  # reset links: not kept in caches
    return page
