"""The merchant's words (issue 14): every message is a template the merchant rewrites in
the console (/merchant/messages), previewed per network against its limit; a template that
drops the code or link its message needs, names an unknown placeholder, or is too long for
a network is refused beside the field; reset brings the default back; saved words apply to
messages queued after the save."""

from __future__ import annotations

import re

from sqlalchemy import select

from hashcart.domain.message_templates import TEMPLATES
from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.web.cart_support import BEANS, MUG, SHOPPER_X_ID, x_reply_cart
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, parse

TOO_LONG = "Added $item to your cart at $shop. " + "Thank you so much for shopping! " * 6


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def stored(shop: WebShop) -> dict[str, str]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.message_templates.c.key, t.message_templates.c.template))
        return {key: text for key, text in rows}


def field_error(html: str) -> str:
    found = re.search(r'<span class="field-error" id="template-error">([^<]*)</span>', html)
    assert found, "no error beside the field"
    return found.group(1).replace("&#39;", "'")


def test_the_list_names_every_message_and_only_a_merchant_sees_it(web_shop: WebShop) -> None:
    anybody = web_shop.browser()
    response = anybody.get("/merchant/messages", follow_redirects=False)
    assert response.status_code == 303 and "/merchant/sign-in" in response.headers["location"]
    posted = anybody.submit("/merchant/messages/added", {"template": "Hi $item"})
    assert posted.status_code == 303 and "/merchant/sign-in" in posted.headers["location"]
    browser = merchant(web_shop)
    page = browser.get("/merchant/messages").text
    for key in TEMPLATES:
        assert f'href="/merchant/messages/{key}"' in page
        editor = browser.get(f"/merchant/messages/{key}")
        said = " ".join(parse(editor.text).text.split())
        assert editor.status_code == 200 and "of 280 characters fits" in said, key
    assert {"link_needed", "buy_confirm_needed", "cart_reminder"} <= set(TEMPLATES)
    assert stored(web_shop) == {}


def test_the_editor_previews_each_network_against_its_limit(web_shop: WebShop) -> None:
    page = merchant(web_shop).get("/merchant/messages/link_needed").text
    assert TEMPLATES["link_needed"].default in page
    text = " ".join(parse(page).text.split())
    assert re.search(r"X reply .*? \d+ of 280 characters fits", text)
    assert re.search(r"Mastodon reply or private message .*? \d+ of 500 characters fits", text)
    assert re.search(r"Bluesky reply or private message .*? \d+ of 300 characters fits", text)
    assert "(email has no limit)" in text
    # With the longest realistic handle on X (15 characters) and the shop's own link.
    assert "@wwwwwwwwwwwww" in page and "http://127.0.0.1:8000/account" in page


def test_saved_words_apply_to_messages_queued_after_the_save(web_shop: WebShop) -> None:
    web_shop.customer("sam@example.com", (Network.X, SHOPPER_X_ID, "sam_x"))
    x_reply_cart(web_shop, link=BEANS, post_id="1001")
    (before,) = web_shop.outbox()
    assert before["text"].startswith("@sam_x Added Summit Roast Beans 1kg to your cart")

    browser = merchant(web_shop)
    words = "Yes! $item is in your $$5-off cart at $shop, see you at checkout."
    saved = browser.submit("/merchant/messages/added", {"template": words})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/merchant/messages/added?done=saved"
    assert stored(web_shop) == {"added": words}

    x_reply_cart(web_shop, link=MUG, post_id="2001")
    messages = web_shop.outbox()
    assert [message["text"] for message in messages if message["in_reply_to"] == "1002"] == [
        before["text"]
    ]  # queued before the save: unchanged
    (after,) = [message for message in messages if message["in_reply_to"] == "2002"]
    assert after["text"].startswith(
        "@sam_x Yes! Trailhead Enamel Mug is in your $5-off cart at Trailhead Coffee, "
        "see you at checkout. (ref "
    )

    listed = browser.get("/merchant/messages").text
    (row,) = [row for row in parse(listed).rows if row and row[1] == "added"]
    assert row[2].startswith("Yours")


# (message, words, the start of the problem said beside the field)
REFUSED = [
    (
        "buy_confirm_needed",
        "Buy $item for $total? Reply #$confirm_tag to confirm.",
        "This message must keep $code (the one-time confirm code)",
    ),
    ("link_needed", "Please link your account at $shop.", "This message must keep $account_url"),
    ("claim_won", "You got $priced at $shop!", "This message must keep $invoice_url"),
    ("order_cancelled", "Order $order is off.", "This message must keep $order_url"),
    ("added", "Added $item to your $basket.", "This message has no placeholder $basket"),
    ("added", "Added $item for $5.", "A $ must start a placeholder"),
    ("added", "Added ${item.__class__} at $shop.", "A $ must start a placeholder"),
    ("added", "   ", "Write the message, or reset it to the default"),
    ("added", TOO_LONG, "Too long for X:"),
]


def test_a_template_that_breaks_a_rule_is_refused_beside_the_field(web_shop: WebShop) -> None:
    browser = merchant(web_shop)  # one sign-in for every case (a password hash each)
    for key, words, problem in REFUSED:
        refused = browser.submit(f"/merchant/messages/{key}", {"template": words})
        assert refused.status_code == 400, words
        assert field_error(refused.text).startswith(problem), words
        assert 'aria-invalid="true"' in refused.text
        assert words.strip() in refused.text or not words.strip()  # what was typed stays
    assert stored(web_shop) == {}
    # Too long: the preview says which network it does not fit, and by how much.
    text = " ".join(parse(refused.text).text.split())
    assert re.search(r"X reply .*? (\d+) of 280 characters too long", text)


def test_preview_shows_unsaved_words_as_text_without_saving(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    shown = browser.submit(
        "/merchant/messages/added", {"template": "Yes! $item is yours, $shop.", "action": "preview"}
    )
    assert shown.status_code == 200
    assert "@wwwwwwwwwwwwwww Yes! 2 × Insulated Trail Flask" in shown.text
    hostile = browser.submit(
        "/merchant/messages/added",
        {"template": f"Added $item {HOSTILE_SCRIPT} at $shop.", "action": "preview"},
    )
    assert HOSTILE_SCRIPT not in hostile.text  # in the editor and every preview: text
    assert "script" not in parse(hostile.text).tags
    assert stored(web_shop) == {}


def test_reset_brings_the_default_back_and_only_with_the_csrf_token(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    browser.submit("/merchant/messages/added", {"template": "Got it: $item."})
    assert stored(web_shop) == {"added": "Got it: $item."}
    for path, data in (
        ("/merchant/messages/added", {"template": "Changed: $item."}),
        ("/merchant/messages/added/reset", {}),
    ):
        response = browser.client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403
    assert stored(web_shop) == {"added": "Got it: $item."}

    reset = browser.submit("/merchant/messages/added/reset")
    assert reset.status_code == 303
    assert stored(web_shop) == {}
    page = browser.get(reset.headers["location"]).text
    assert "Back to the default words." in page
    assert TEMPLATES["added"].default.replace("'", "&#39;") in page

    assert browser.get("/merchant/messages/nope").status_code == 404
    assert browser.submit("/merchant/messages/nope", {"template": "x"}).status_code == 404
