"""How a message template reads on each channel, with the longest realistic values, and
whether it fits that network's limit (issue 14: the console's preview, and its refusal to
save a template too long for a network).

"Realistic": the longest handle each network gives its accounts in practice, two of a
product whose title is cut to ROOM_FOR_TITLES graphemes, the shop's name cut as long, a
four-figure total, the shop's own links. Real messages cut longer titles and names further
to fit (messages.compose); a template must leave room for this much of them, besides what
is never cut (the merchant's own words, links, codes, the greeting, the reference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hashcart.domain.buying import CODE_LENGTH
from hashcart.domain.email_templates import (
    EMAIL_TEMPLATES,
    SUBJECT_PREFIX,
    check_email_template,
    fill_email,
    subject_line,
)
from hashcart.domain.message_templates import TemplateProblem, check_template
from hashcart.domain.messages import (
    BUY_REASONS,
    SALE_REASONS,
    BuyFacts,
    MessageContext,
    Reason,
    SaleFacts,
    compose,
    email_subject,
)
from hashcart.domain.order_care import (
    OrderState,
    cancelled_email,
    cancelled_text,
    order_status_email,
    order_status_text,
    shipped_email,
    shipped_text,
)
from hashcart.domain.posts import Network, display_name
from hashcart.domain.text_lengths import TextLimit, limit_for, shorten

# The longest handles seen in practice: X's limit (15), a Mastodon account on another
# server, a Bluesky handle on a custom domain.
LONGEST_HANDLES = {
    Network.X: "w" * 15,
    Network.MASTODON: "trailhead_coffee_fan@mastodon.example.social",
    Network.BLUESKY: "trailhead-coffee-fan.bsky.social",
}
# Networks whose private messages hashcart writes (X's direct messages are X Chat now).
_DIRECT = frozenset({Network.MASTODON, Network.BLUESKY})
# What a message keeps of a product's title and of the shop's name, at least, on every network.
ROOM_FOR_TITLES = 30
_TITLE = shorten("Insulated Trail Flask with Bamboo Lid, Limited Edition", ROOM_FOR_TITLES)
# A 19-digit post id, as X's are (the reference code is a hash of it: always 6 characters).
_POST_ID = "1790000000000000000"


# Order care's messages whose emails have words of their own (order_care's *_email).
_OWN_EMAILS = frozenset({Reason.SHIPPED, Reason.ORDER_STATUS, Reason.ORDER_CANCELLED})
# A live sale's facts at their longest (services/sales writes them so).
_SALE = SaleFacts(
    item="999",
    variant="Forest Green / XL",
    price="9,999.99 EUR",
    pay_by="Wed 30 Dec 23:59 UTC",
    link="https://trailhead-coffee.example/invoices/9999999",
    exists="#1 Mug, #2 Dripper, #3 Trail Flask, #4 Beans, #5 Filters and 20 more",
    limit=99,
    place=999,
    why="not paid in time",
    sale="Sunday live: winter gear and gifts",
    minutes=30,
)
# The newest orders of a shopper with many, the first shipped with a long tracking link.
_ORDERS = (
    OrderState(
        9_999_999,
        datetime(2026, 12, 30, tzinfo=UTC),
        "paid",
        datetime(2026, 12, 31, tzinfo=UTC),
        "https://tracking.example-carrier.com/track?number=1Z999AA10123456784",
    ),
    OrderState(9_999_998, datetime(2026, 12, 29, tzinfo=UTC), "placed"),
    OrderState(9_999_997, datetime(2026, 12, 28, tzinfo=UTC), "refunded"),
)


@dataclass(frozen=True, slots=True)
class Preview:
    """One channel's text, its length as that network counts, and its limit (None: email,
    which has none)."""

    channel: str
    text: str
    length: int
    limit: TextLimit | None
    # Whether the network also takes it as a private message (X's are not written).
    direct: bool = False

    @property
    def fits(self) -> bool:
        return self.limit is None or self.limit.fits(self.text)


@dataclass(frozen=True, slots=True)
class ShopWords:
    """What a preview takes from the shop: its name, the account page's link, its confirm
    tag and windows, and the Mastodon server's limit when known."""

    shop_name: str
    account_url: str
    confirm_tag: str = "confirm"
    confirm_minutes: float = 15
    expiry_days: float = 7
    mastodon_max_characters: int | None = None


def _details(key: str, shop: ShopWords) -> tuple[Reason, dict[str, Any]]:
    """The reason and compose's facts for template `key`, at their longest."""
    buy = BuyFacts(
        total="9,999.99 EUR",
        last4="4242",
        code="K" * CODE_LENGTH,
        confirm_tag=shop.confirm_tag,
        minutes=shop.confirm_minutes,
        order_id=9_999_999,
        declined="Your card has insufficient funds.",
        payment_url=f"{shop.account_url}#payment",
        address_url=f"{shop.account_url}#address",
        limit="250.00 EUR",
        offer_off="999.99 EUR",
        offer_tag="summersale2026",
        store="Shopify",
        checkout_url="https://hashcart-test.myshopify.com/cart/c/"
        "hWN4Lq7yAbCdEfGhIjKlMnOpQrStUvWx?key=0123456789abcdef0123456789abcdef",
    )
    details: dict[str, Any] = {"title": _TITLE, "quantity": 2, "expiry_days": shop.expiry_days}
    if key == "unavailable_buy":
        return Reason.UNAVAILABLE, {**details, "buy": buy}
    if key == "shipped_tracking":
        return Reason.SHIPPED, details
    if key == "buy_confirm_at_store":
        return Reason.BUY_CONFIRM_NEEDED, {**details, "buy": replace(buy, at_store=True)}

    if key == "order_status_none":
        return Reason.ORDER_STATUS, details
    if key == "sale_link_needed":
        return Reason.LINK_NEEDED, {**details, "quantity": 1, "sale": _SALE}
    reason = Reason(key)
    if reason in SALE_REASONS:
        return reason, {**details, "quantity": 1, "sale": _SALE}
    if reason is Reason.WHICH_PRODUCT:
        details["options"] = [_TITLE, _TITLE, _TITLE]
    elif reason is Reason.WHICH_VARIANT:
        details["choices"] = [
            ("color", ["Forest Green", "Midnight Blue", "Desert Sand", "Glacier White"]),
            ("size", ["350 ml", "500 ml", "750 ml", "1 l"]),
        ]
    elif reason is Reason.PENDING_APPLIED:
        details["list_kind"] = "wishlist"
    elif reason in BUY_REASONS:
        details["buy"] = buy
    return reason, details


def previews(
    key: str,
    template: str,
    shop: ShopWords,
    sanitize: Callable[[str], str] = lambda text: text,
    networks: Sequence[Network] = (Network.X, Network.MASTODON, Network.BLUESKY),
) -> list[Preview]:
    """`template` (checked first: TemplateProblem) as each network's reply or private
    message would read it, then as the email says it."""
    kept = check_template(key, template)
    reason, details = _details(key, shop)
    found = []
    for network in networks:
        limit = limit_for(network, shop.mastodon_max_characters)
        context = _context(shop, LONGEST_HANDLES.get(network, ""), kept, key, sanitize)
        text = _text(key, reason, context, details, limit)
        length = limit.length(text) if limit is not None else len(text)
        found.append(Preview(display_name(network), text, length, limit, network in _DIRECT))
    if reason in _OWN_EMAILS:  # their emails are not these words (order_care's *_email)
        return found
    email = _text(key, reason, _context(shop, "", kept, key, sanitize), details)
    subject = email_subject(reason, shorten(shop.shop_name, ROOM_FOR_TITLES))
    found.append(Preview("email", f"{subject}\n\n{email}", len(email), None))
    return found


def _text(
    key: str,
    reason: Reason,
    context: MessageContext,
    details: dict[str, Any],
    limit: TextLimit | None = None,
) -> str:
    """The message as sent: order care's news has its own composers."""
    base = context.account_url.removesuffix("/account")
    if reason is Reason.ORDER_STATUS:
        orders = _ORDERS if key == "order_status" else ()
        return order_status_text(context, orders, 12, f"{base}/orders", limit)
    if reason is Reason.ORDER_CANCELLED:
        return cancelled_text(context, 9_999_999, f"{base}/orders/9999999", public=False)
    if reason is Reason.SHIPPED:
        tracking = "https://tracking.example-carrier.com/track?number=1Z999AA10123456784"
        return shipped_text(
            context,
            9_999_999,
            tracking,
            f"{base}/orders/9999999",
            public=key == "shipped",
        )
    return compose(reason, context, **details)


def check_fits(key: str, template: str, shop: ShopWords) -> str:
    """`template` as it will be kept, or TemplateProblem: the problems check_template
    finds, or too long for a network's limit with the longest realistic values."""
    kept = check_template(key, template)
    for preview in previews(key, kept, shop):
        if not preview.fits and preview.limit is not None:
            raise TemplateProblem(
                f"too long for {preview.channel}: {preview.length} of "
                f"{preview.limit.maximum} characters with the longest realistic values "
                f"(a long handle, a {ROOM_FOR_TITLES}-character product title); shorten "
                "your words"
            )
    return kept


def _context(
    shop: ShopWords, handle: str, template: str, key: str, sanitize: Callable[[str], str]
) -> MessageContext:
    return MessageContext(
        handle=handle,
        trigger_post_id=_POST_ID,
        shop_name=shorten(shop.shop_name, ROOM_FOR_TITLES),
        account_url=shop.account_url,
        sanitize=sanitize,
        templates={key: template},
    )


# --- the emails' own words (domain/email_templates) ---

# The subject each body's preview shows above it (a reason code, or an email's own).
_BODY_SUBJECTS = {
    "email.shipped": "shipped",
    "email.shipped_tracking": "shipped",
    "email.order_cancelled": "order_cancelled",
    "email.order_status": "order_status",
    "email.email_only": "added",
    "email.order_confirmed": "order_confirmed",
    "email.password_reset": "password_reset",
    "email.sign_up": "sign_up",
    "email.sign_up_exists": "sign_up_exists",
    "email.fallback": "added",
    "email.cart_reminder": "cart_reminder",
}
# The bodies sent with a line break after them (the account emails end without one).
_LINE_END = frozenset(
    {"email.email_only", "email.order_confirmed", "email.fallback", "email.cart_reminder"}
)
# An order confirmation's facts at their longest (services/checkout.confirmation_email).
_RECEIPT = {
    "greeting": "Hello Alexandra Montgomery-Whitfield,",
    "order": "9999999",
    "status": "placed (to be paid on invoice)",
    "lines": f"  2 × {_TITLE}: 9,999.98 EUR\n  1 × {_TITLE}: 4,999.99 EUR",
    "offer_line": "Offer summersale2026: -999.99 EUR\n",
    "total": "13,999.98 EUR",
    "payment": "Paid by Visa ending in 4242.",
    "reference": "pi_3QxYzAbCdEfGhIjK0123456789",
    "ship_to": "  Alexandra Montgomery-Whitfield\n  1 Trail Road\n  LS1 1AA Leeds\n  GB",
}


def email_previews(key: str, template: str, shop: ShopWords) -> list[Preview]:
    """`template` (checked first: TemplateProblem) as the email says it: a subject alone,
    or a body under its email's subject, with the longest realistic values."""
    kept = check_email_template(key, template)
    words = {key: kept}
    base = shop.account_url.removesuffix("/account")
    order_url = f"{base}/orders/9999999"
    token = "Xy" * 21 + "Z"  # a 43-character link token (web/tokens)
    values = {
        **_RECEIPT,
        "shop": shop.shop_name,
        "order_url": order_url,
        "email": "alexandra.montgomery-whitfield@example.com",
        "hours": "24",
        # The reset page itself where the shopper is sent to ask for a link.
        "reset_url": f"{base}/reset" if key.endswith("sign_up_exists") else f"{base}/reset/{token}",
        "sign_up_url": f"{base}/sign-up/{token}",
        "sign_in_url": f"{base}/sign-in",
    }
    if EMAIL_TEMPLATES[key].is_subject:
        said = subject_line(key.removeprefix(SUBJECT_PREFIX), words, values)
        return [Preview("email subject", said, len(said), None)]
    context = _context(shop, "", kept, key, lambda text: text)
    if key == "email.order_status":
        body = order_status_email(context, _ORDERS, 12, f"{base}/orders", "Mastodon")
    elif key == "email.order_cancelled":
        body = cancelled_email(context, 9_999_999, order_url)
    elif key in ("email.shipped", "email.shipped_tracking"):
        tracking = _ORDERS[0].tracking_url if key == "email.shipped_tracking" else None
        body = shipped_email(context, 9_999_999, tracking, order_url)
    else:  # the rest fill their words in as they are sent
        said_by = Reason.CART_REMINDER if key == "email.cart_reminder" else Reason.ADDED
        values["message"] = compose(said_by, context, title=_TITLE, quantity=2)
        values |= {"cart_url": f"{base}/cart", "network": "Mastodon", "what": "reply to you"}
        values["why"] = "the account does not accept replies from accounts it does not follow"
        values["account_url"] = shop.account_url
        body = fill_email(key, words, values) + ("\n" if key in _LINE_END else "")
    said = subject_line(_BODY_SUBJECTS[key], None, values)
    return [Preview("email", f"{said}\n\n{body}", len(body), None)]
