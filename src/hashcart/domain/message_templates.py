"""The merchant's words (issue 14): each message the shop sends is a template the merchant
may rewrite in the console; the defaults live here, in code.

A template is plain text with `$name` placeholders (string.Template's syntax: `${name}`
when a letter follows, `$$` for a dollar sign). Values are substituted as text, never
looked up on objects: merchant text is never given to str.format. The greeting (`@handle `)
and the reference code (`(ref 1a2b3c)`) are added around the template by the composer,
so no template can drop them; a template that drops what the message exists for (the
confirm code of `buy_confirm_needed`, the link of `link_needed`) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from string import Template

from hashcart.errors import HashcartError

# The longest template the console keeps, in characters (every network's limit is lower;
# email has none, but a message is a few sentences).
MAX_TEMPLATE_CHARS = 1000

# What each placeholder stands for, as the console explains it.
PLACEHOLDERS: dict[str, str] = {
    "shop": "the shop's name",
    "product": "the product's title",
    "item": "the product's title, with the quantity when more than one (2 × Mug)",
    "list": "cart or wish list",
    "account_url": "the link to the shopper's account page, where they link an account",
    "days": "how many days an unlinked account's requests are kept",
    "choices": "the choices the shopper can answer with",
    "example": "an example answer",
    "total": "the price to pay, with its currency",
    "offer_note": "what a loaded offer takes off, in brackets, or nothing",
    "card": "the last four digits of the shopper's card",
    "confirm_tag": "the confirm tag, without #",
    "code": "the one-time confirm code",
    "minutes": "how many minutes the code works",
    "order": "the order number",
    "declined_note": "the card issuer's reason, in brackets, or nothing",
    "payment_url": "the link to the page where the shopper saves a card",
    "address_url": "the link to the account page's shipping address",
    "limit": "the shopper's daily limit for buying with posts",
    "offer": "the offer, as the shop describes it",
    "cart_url": "the link to the shopper's cart",
    "order_url": "the link to the order's page (the shopper signs in to see it)",
    "tracking_url": "the carrier's tracking link",
    "store": "the name of the store where the shopper pays (Vendure, Shopify)",
    "checkout_url": "the link to the store's checkout, where the shopper pays",
    "orders": "the newest orders, each with its number, day and status (and tracking link "
    "once shipped), and how many more there are",
    "orders_url": "the link to the shopper's orders page (they sign in to see it)",
    "money_note": "in a private message, that nothing more is charged and what was paid goes "
    "back; nothing in a public reply",
    "sale_item": "the sale item's number and title (#3 Mug)",
    "item_number": "the sale item's number (#3)",
    "won": "the sale item with the version won (#3 Mug, Red / M)",
    "priced": "the sale item with the version won and its price (#3 Mug, Red / M, 24.00 EUR)",
    "pay_by": "when the shopper must pay by",
    "invoice_url": "the link to the invoice's page, where the shopper pays",
    "hold_minutes": "how many minutes an unlinked shopper has to link and keep what they won",
    "place_note": "the shopper's place on the waitlist, or nothing",
    "released_note": "why the hold was released, in brackets, or nothing",
    "asked": "the item (and version) the shopper asked for",
    "exists": "what the sale has",
    "claim_limit": "how many of an item one shopper may claim",
    "sale": "the sale's name",
    # --- emails (domain/email_templates) ---
    "answer": "the answer to the order tag, with its reference code",
    "network": "the network the shopper wrote on (X, Mastodon, Bluesky)",
    "message": "the message as a reply would have said it, with its reference code",
    "greeting": "Hello and the shopper's name, or Hello",
    "status": "paid, or placed (to be paid on invoice)",
    "lines": "the order's lines, one a line: quantity, product, price",
    "offer_line": "the offer taken off, on a line of its own, or nothing",
    "payment": "what the payment did, in a sentence",
    "reference": "the payment's reference",
    "ship_to": "the shipping address, one part a line",
    "email": "the shopper's email address",
    "what": "reply to you, or send you a private message",
    "why": "the network's reason for refusing",
    "hours": "how many hours the link works",
    "reset_url": "the link that chooses a new password",
    "sign_up_url": "the link that makes the account",
    "sign_in_url": "the sign-in page's link",
}


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """One message's words: `key` (its reason code, or `unavailable_buy`), what the console
    calls it, the default text, the placeholders it may use and those it must keep."""

    key: str
    label: str
    default: str
    placeholders: tuple[str, ...]
    required: tuple[str, ...] = ()


def _template(
    key: str, label: str, default: str, *, required: tuple[str, ...] = (), also: str = ""
) -> MessageTemplate:
    used = tuple(dict.fromkeys((*Template(default).get_identifiers(), *also.split())))
    return MessageTemplate(key, label, default, used, required)


TEMPLATES: dict[str, MessageTemplate] = {
    template.key: template
    for template in (
        _template("added", "Added to the cart", "Added $item to your cart at $shop."),
        _template(
            "wishlisted", "Saved to the wish list", "Saved $item to your wish list at $shop."
        ),
        _template(
            "already_in_cart",
            "Already in the cart",
            "$product is already in your cart at $shop; nothing changed.",
            also="item",
        ),
        _template(
            "already_wishlisted",
            "Already on the wish list",
            "$product is already on your wish list at $shop; nothing changed.",
            also="item",
        ),
        _template(
            "unavailable",
            "Not available",
            "Sorry, $product is not available right now, so it is not in your cart. "
            "Your wish list can still keep it.",
            also="shop item",
        ),
        _template(
            "unavailable_buy",
            "Not available (buying with a post)",
            "Sorry, $product is not available right now, so nothing was bought.",
            also="shop item",
        ),
        _template(
            "link_needed",
            "Link your account first",
            "To shop from your replies, link this account to $shop at $account_url. "
            "We keep your requests for $days days and add them once you link.",
            required=("account_url",),
        ),
        _template(
            "which_product",
            "Which product?",
            "That post shows several products ($choices). Reply again with the tag followed "
            "by the number you want, for example 2.",
            required=("choices",),
            also="shop",
        ),
        _template(
            "pending_applied",
            "An earlier reply is in",
            "Your account is linked: $item from your earlier reply is now in your $list at $shop.",
            also="product",
        ),
        _template(
            "linked",
            "Account linked",
            "This account is now linked to your account at $shop: your tagged replies to "
            "our product posts now go straight to your cart.",
        ),
        _template("removed", "Removed from the cart", "Removed $product from your cart at $shop."),
        _template(
            "not_in_cart",
            "Not in the cart",
            "$product was not in your cart at $shop; nothing changed.",
        ),
        _template(
            "which_variant",
            "Which version?",
            "$product comes in several versions: $choices. Reply again with the tag followed "
            "by your choice, for example $example.",
            required=("choices",),
            also="shop",
        ),
        _template(
            "buy_confirm_needed",
            "Confirm a buy",
            "Buy $item for $total$offer_note at $shop with your card ending in $card? "
            "Reply #$confirm_tag $code within $minutes minutes. Nothing is charged until you do.",
            required=("confirm_tag", "code"),
            also="product",
        ),
        _template(
            "buy_confirm_at_store",
            "Confirm a buy (paid at your store)",
            "Buy $item for $total? Reply #$confirm_tag $code within $minutes minutes and we "
            "send you the link to pay at the store's checkout. Nothing is charged here.",
            required=("confirm_tag", "code"),
            also="product shop",
        ),
        _template(
            "finish_at_store",
            "Finish at your store",
            "$item is waiting for you at $store: pay there at $checkout_url",
            required=("checkout_url",),
            also="product shop total",
        ),
        _template(
            "purchased",
            "Bought",
            "Bought: $item for $total at $shop, order #$order. We emailed you the receipt.",
            required=("order",),
            also="product",
        ),
        _template(
            "confirm_expired",
            "Code expired",
            "That code has expired, so nothing was bought and nothing was charged. "
            "Reply to the product post again to get a new one.",
            also="shop item product",
        ),
        _template(
            "payment_declined",
            "Card declined",
            "Your card ending in $card was declined$declined_note, so nothing was bought "
            "and nothing was charged. You can update your card at $payment_url.",
            required=("payment_url",),
            also="shop item product",
        ),
        _template(
            "payment_method_needed",
            "Save a card first",
            "To buy $item with a post, save a card on your account at $shop first: "
            "$payment_url. Nothing was bought.",
            required=("payment_url",),
            also="product",
        ),
        _template(
            "address_needed",
            "Save a shipping address first",
            "To buy $item with a post, save where it ships on your account at $shop "
            "first: $address_url. Nothing was bought.",
            required=("address_url",),
            also="product",
        ),
        _template(
            "limit_reached",
            "Daily limit reached",
            "Buying $item for $total would take today's buys with a post over your limit "
            "of $limit at $shop, so nothing was bought. You can still add it to your cart.",
            also="product",
        ),
        _template(
            "offer_loaded",
            "Offer loaded",
            "Offer loaded: $offer at $shop. It comes off your next order with an eligible "
            "product by itself.",
        ),
        _template(
            "offer_already_loaded",
            "Offer already loaded",
            "Offer $offer is already on your account at $shop; nothing changed.",
        ),
        _template(
            "offer_exhausted",
            "Offer all taken",
            "Sorry, offer $offer at $shop has been loaded as many times as it allows.",
        ),
        _template("offer_expired", "Offer ended", "Sorry, offer $offer at $shop has ended."),
        _template(
            "shipped",
            "Order shipped",
            "Your order $order at $shop has shipped. Details: $order_url",
            required=("order_url",),
        ),
        _template(
            "shipped_tracking",
            "Order shipped (private message, with tracking)",
            "Your order $order at $shop has shipped. Track it: $tracking_url",
            required=("tracking_url",),
            also="order_url",
        ),
        _template(
            "order_status",
            "Your orders (answer to the order tag)",
            "Your latest orders at $shop: $orders. All your orders: $orders_url",
            required=("orders", "orders_url"),
        ),
        _template(
            "order_status_none",
            "Your orders, when there are none yet",
            "You have no orders at $shop yet.",
            also="orders_url",
        ),
        _template(
            "order_cancelled",
            "Order cancelled",
            "Your order $order at $shop has been cancelled.$money_note Details: $order_url",
            required=("order_url",),
        ),
        _template(
            "claim_won",
            "Live sale: claim won",
            "You got $priced at $shop; pay by $pay_by: $invoice_url",
            required=("invoice_url",),
            also="sale_item won item_number",
        ),
        _template(
            "claim_promoted",
            "Live sale: came free from the waitlist",
            "Good news: $priced came free at $shop and is yours; pay by $pay_by: $invoice_url",
            required=("invoice_url",),
            also="sale_item won item_number",
        ),
        _template(
            "sale_link_needed",
            "Live sale: won, link your account first",
            "You got $priced at $shop! Link this account at $account_url within $hold_minutes "
            "minutes to keep it.",
            required=("account_url",),
            also="sale_item won item_number",
        ),
        _template(
            "claim_waitlisted",
            "Live sale: on the waitlist",
            "$sale_item at $shop is all claimed$place_note. We will tell you if it comes free.",
            also="item_number",
        ),
        _template(
            "claim_released",
            "Live sale: claim released",
            "$sale_item at $shop is released$released_note and went back to the sale.",
            also="item_number",
        ),
        _template(
            "claim_unknown_item",
            "Live sale: no such item",
            "This sale at $shop has no $asked. It has: $exists.",
            required=("exists",),
        ),
        _template(
            "claim_limit",
            "Live sale: claim limit reached",
            "You already have as many of $sale_item as one shopper may claim ($claim_limit) "
            "at $shop, so this claim was not taken.",
            also="item_number",
        ),
        _template(
            "sale_closed",
            "Live sale: closed",
            "Sorry, the sale $sale at $shop has closed, so $item_number was not claimed.",
        ),
        _template(
            "invoice_due",
            "Live sale: invoice due",
            "Your invoice at $shop for $won is due by $pay_by: $invoice_url",
            required=("invoice_url",),
            also="sale_item priced item_number",
        ),
        _template(
            "cart_reminder",
            "Cart reminder",
            "$item is still waiting in your cart at $shop. Check out when you are ready: $cart_url",
            required=("cart_url",),
            also="product",
        ),
    )
}


class TemplateProblem(HashcartError, ValueError):
    """A template the shop will not keep; the message says why, for the merchant."""


def check_template(key: str, text: str) -> str:
    """`text` as it will be kept (its line ends made spaces, its ends trimmed), or
    TemplateProblem: empty, too long, a `$` that is no placeholder, a placeholder this
    message does not have, or one it must keep left out."""
    spec = TEMPLATES[key]
    kept = " ".join(text.split())
    if not kept:
        raise TemplateProblem("write the message, or reset it to the default")
    if len(kept) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(f"a message has at most {MAX_TEMPLATE_CHARS} characters")
    return check_placeholders(kept, spec.placeholders, spec.required)


def check_placeholders(kept: str, placeholders: Sequence[str], required: Sequence[str]) -> str:
    """`kept`, or TemplateProblem: a `$` that is no placeholder, a placeholder not among
    `placeholders`, or one of `required` left out (message and email templates alike)."""
    template = Template(kept)
    if not template.is_valid():
        raise TemplateProblem(
            "a $ must start a placeholder such as $shop; write $$ for a dollar sign"
        )
    used = template.get_identifiers()
    unknown = [name for name in used if name not in placeholders]
    if unknown:
        raise TemplateProblem(
            f"this message has no placeholder ${unknown[0]}; it can use "
            + ", ".join(f"${name}" for name in placeholders)
        )
    missing = [name for name in required if name not in used]
    if missing:
        raise TemplateProblem(
            f"this message must keep ${missing[0]} ({PLACEHOLDERS[missing[0]]}): "
            "without it the shopper cannot do what it asks"
        )
    return kept


def fill(
    key: str,
    templates: Mapping[str, str] | None,
    values: Mapping[str, str],
    clean: Callable[[str], str] | None = None,
) -> str:
    """The text of `key`'s template (the merchant's, else the default) with `values` put
    in. The merchant's words pass through `clean` first (the shop's sanitize: a trigger tag
    written in them loses its sign, so our message can trigger nothing). A stored template
    that no longer reads (a placeholder since removed) keeps its `$` text rather than fail
    a message."""
    text = (templates or {}).get(key)
    if text and clean is not None:
        text = clean(text)
    return Template(text or TEMPLATES[key].default).safe_substitute(values)
