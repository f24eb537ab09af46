"""The console's Offers page (issue 12, offers by hashtag): merchants only, CSRF like every
console form; add an offer (a form error re-renders the form with the message and what was
typed, escaped), pause and resume it, and see its loads and redemptions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hashcart.store import schema as t
from tests.payloads import x_tweet
from tests.web.cart_support import SHOPPER_X_ID, link_everywhere, signed_in, text_of
from tests.web.conftest import Browser, WebShop


def _merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def _offers(shop: WebShop) -> list[dict[str, object]]:
    with shop.app.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(t.offers))]


FORM = {"tag": "summer20", "kind": "percent", "value": "20"}


def test_only_a_signed_in_merchant_reaches_the_offers_page(web_shop: WebShop) -> None:
    anybody = web_shop.browser()
    response = anybody.get("/merchant/offers", follow_redirects=False)
    assert response.status_code == 303 and "/merchant/sign-in" in response.headers["location"]
    posted = anybody.submit("/merchant/offers", FORM)
    assert posted.status_code == 303 and "/merchant/sign-in" in posted.headers["location"]
    shopper = signed_in(web_shop)
    assert shopper.get("/merchant/offers", follow_redirects=False).status_code == 403
    assert _offers(web_shop) == []


def test_a_form_without_the_csrf_token_is_refused(web_shop: WebShop) -> None:
    merchant = _merchant(web_shop)
    response = merchant.client.post("/merchant/offers", data=FORM, follow_redirects=False)
    assert response.status_code == 403
    assert _offers(web_shop) == []


def test_adding_an_offer_lists_it_and_a_shoppers_load_and_redemption_show(
    web_shop: WebShop,
) -> None:
    merchant = _merchant(web_shop)
    added = merchant.submit(
        "/merchant/offers", {**FORM, "products": "mug", "limit": "50", "expires": ""}
    )
    assert added.status_code == 303 and added.headers["location"] == "/merchant/offers?done=added"
    signed_in(web_shop)
    link_everywhere(web_shop)
    web_shop.ingest([x_tweet("9300", SHOPPER_X_ID, "sam_x", "#summer20", hashtags=("summer20",))])

    page = text_of(merchant.get("/merchant/offers?done=added"))
    assert "Offer added" in page
    assert "#summer20 20% off mug never 1 / 50 0 On Pause" in page


def test_pause_and_resume(web_shop: WebShop) -> None:
    merchant = _merchant(web_shop)
    merchant.submit("/merchant/offers", FORM)
    [offer] = _offers(web_shop)

    paused = merchant.submit(f"/merchant/offers/{offer['id']}/pause")
    assert paused.status_code == 303
    assert _offers(web_shop)[0]["paused"] is True
    assert "Paused Resume" in text_of(merchant.get("/merchant/offers"))
    merchant.submit(f"/merchant/offers/{offer['id']}/resume")
    assert _offers(web_shop)[0]["paused"] is False
    for bad in ("424242", "1x", "9" * 40):
        assert merchant.submit(f"/merchant/offers/{bad}/pause").status_code == 404


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({**FORM, "value": "150"}, "The percentage must be above 0 and at most 100"),
        ({**FORM, "kind": "amount", "value": "-3", "currency": "USD"}, "more than 0"),
        ({**FORM, "tag": "cart"}, "the cart tag already"),
        ({**FORM, "tag": "<script>alert(1)</script>"}, "is not a hashtag"),
        ({**FORM, "products": "mug,nosuch"}, "no product with id 'nosuch'"),
        ({**FORM, "limit": "-1"}, "the limit must be a whole number"),
        ({**FORM, "expires": "2026-13-01"}, "not an ISO-8601"),
    ],
)
def test_a_bad_offer_re_renders_the_form_with_the_message_and_what_was_typed(
    web_shop: WebShop, form: dict[str, str], says: str
) -> None:
    merchant = _merchant(web_shop)
    response = merchant.submit("/merchant/offers", form)

    assert response.status_code == 400
    assert says.casefold() in text_of(response).casefold()
    assert "<script>alert" not in response.text  # what was typed comes back escaped
    assert f'value="{form["value"]}"' in response.text
    assert _offers(web_shop) == []


def test_an_oversized_field_is_refused_without_storing(web_shop: WebShop) -> None:
    merchant = _merchant(web_shop)
    response = merchant.submit("/merchant/offers", {**FORM, "tag": "a" * 5000})
    assert response.status_code in (400, 422)
    with web_shop.app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.offers)).scalar_one() == 0
