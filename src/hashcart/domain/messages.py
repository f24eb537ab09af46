"""What we tell a shopper about an action, and the words we use to say it.

Texts name the product, differ from message to message (networks reject a reply that
repeats an earlier one word for word) and never carry a trigger tag, so our own replies
can never trigger anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import TextLimit, shorten, tame

# The longest product title a message quotes, in graphemes, before any network's limit.
MAX_TITLE_CHARS = 80
# X handles: letters, digits and underscore, at most 15.
_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
# Bidirectional embeddings, overrides and isolates: in a stranger's title they would turn
# the rest of the message (the reference code, the link) around on screen.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


class Reason(StrEnum):
    ADDED = "added"
    WISHLISTED = "wishlisted"
    ALREADY_IN_CART = "already_in_cart"
    ALREADY_WISHLISTED = "already_wishlisted"
    UNAVAILABLE = "unavailable"
    LINK_NEEDED = "link_needed"
    WHICH_PRODUCT = "which_product"
    PENDING_APPLIED = "pending_applied"
    LINKED = "linked"
    # --- issue 12: remove by reply, variants ---
    REMOVED = "removed"
    NOT_IN_CART = "not_in_cart"
    WHICH_VARIANT = "which_variant"
    # --- order care (issue 12): texts in domain/order_care ---
    ORDER_STATUS = "order_status"
    SHIPPED = "shipped"
    # --- orders and fulfilment (issue 14): texts in domain/order_care ---
    ORDER_CANCELLED = "order_cancelled"
    # --- buy with a post (issue 12): the facts come as `buy` (BuyFacts) ---
    BUY_CONFIRM_NEEDED = "buy_confirm_needed"
    PURCHASED = "purchased"
    CONFIRM_EXPIRED = "confirm_expired"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_METHOD_NEEDED = "payment_method_needed"
    LIMIT_REACHED = "limit_reached"
    # No saved shipping address and no earlier order to ship to (the account page's).
    ADDRESS_NEEDED = "address_needed"
    # --- offers by hashtag (issue 12): `title` names the offer (domain/offers.describe) ---
    OFFER_LOADED = "offer_loaded"
    OFFER_ALREADY_LOADED = "offer_already_loaded"
    OFFER_EXHAUSTED = "offer_exhausted"
    OFFER_EXPIRED = "offer_expired"
    # --- live sales (issue 13): the facts come as `sale` (SaleFacts) ---
    CLAIM_WON = "claim_won"
    CLAIM_WAITLISTED = "claim_waitlisted"
    CLAIM_PROMOTED = "claim_promoted"
    CLAIM_RELEASED = "claim_released"
    CLAIM_UNKNOWN_ITEM = "claim_unknown_item"
    CLAIM_LIMIT = "claim_limit"
    SALE_CLOSED = "sale_closed"
    INVOICE_DUE = "invoice_due"


class NotifyBy(StrEnum):
    """How a linked shopper chose to hear from us (`customers.notify_by`)."""

    PUBLIC_REPLY = "public_reply"
    PRIVATE_MESSAGE = "private_message"
    EMAIL_ONLY = "email_only"


# Where a network message goes: a public reply to the post, or a private (direct) message.
Channel = Literal["reply", "private"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to a social account waiting in the outbox. `dedupe_key` makes queuing it
    twice a no-op, whichever channel it takes (a changed preference never sends it twice)."""

    network: Network
    account_id: str
    in_reply_to: str
    reason: Reason
    text: str
    channel: Channel = "reply"

    @property
    def dedupe_key(self) -> str:
        return f"{self.network}:{self.in_reply_to}:{self.reason}"


@dataclass(frozen=True, slots=True)
class BuyFacts:
    """What a buy-with-a-post message says besides the product (issue 12): the total as
    the shopper reads it (`24.00 EUR`), the card's last four digits, the one-time code and
    its tag, the window in minutes, the order number once bought, the gateway's words on a
    decline, the page to save a card on, the daily limit."""

    total: str = ""
    last4: str = ""
    code: str = ""
    confirm_tag: str = "confirm"
    minutes: float = 15
    order_id: int | None = None
    declined: str = ""
    payment_url: str = ""
    limit: str = ""
    # The account page's address section (`address_needed`).
    address_url: str = ""
    # Offers by hashtag (issue 12): what the shopper's loaded offer took off the total
    # (`2.40 EUR`) and its tag, without '#' (empty: no offer).
    offer_off: str = ""
    offer_tag: str = ""


@dataclass(frozen=True, slots=True)
class SaleFacts:
    """What a live-sale message says besides the product (issue 13): the item number, the
    variant won (`Red / M`), the price as the shopper reads it (`24.00 EUR`), when to pay
    by, the invoice's page, what the sale has (for a claim on an item it lacks), the
    per-shopper limit, the waitlist place, why a hold was released, the sale's name and how
    long an unlinked shopper has to link."""

    item: str = ""
    variant: str = ""
    price: str = ""
    pay_by: str = ""
    link: str = ""
    exists: str = ""
    limit: int = 0
    place: int = 0
    why: str = ""
    sale: str = ""
    minutes: float = 30


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The facts a message may mention; `sanitize` removes trigger tags from strangers' words."""

    handle: str
    trigger_post_id: str
    shop_name: str
    account_url: str
    sanitize: Callable[[str], str]


def mention_ask(shop_handle: str | None, tag: str) -> str | None:
    """`@shop #tag`: what shoppers on X write so that the shop may answer them there (X's
    2026 reply rule, networks/x/guidance); None without a usable handle."""
    handle = (shop_handle or "").strip().removeprefix("@")
    return f"@{handle} #{tag}" if _X_HANDLE.fullmatch(handle) else None


def first_message_advice(ask: str, network: str) -> str:
    """The line a shopper's first message on a network carries when the network answers only
    those who ask a certain way. It quotes a trigger tag on purpose: the shop's own posts
    never act (services/ingest), so our message cannot trigger anything."""
    return f"Next time, write {ask} and we can answer you on {network}."


def reference(trigger_post_id: str) -> str:
    """A short code unique to the trigger post, so no two messages read the same."""
    return hashlib.blake2s(trigger_post_id.encode(), digest_size=3).hexdigest()


def _title(ctx: MessageContext, title: str, keep: int = MAX_TITLE_CHARS) -> str:
    clean = ctx.sanitize(" ".join(tame(title).translate(_BIDI_CONTROLS).split()))
    # Sanitized again: a cut can turn `#cartons` into a trigger tag (`#cart…`).
    return ctx.sanitize(shorten(clean, keep))


def _greeting(ctx: MessageContext) -> str:
    handle = ctx.sanitize(ctx.handle.lstrip("@"))
    return f"@{handle} " if handle else ""


def _quantity(quantity: int, title: str) -> str:
    return f"{quantity} × {title}" if quantity > 1 else title


def compose(
    reason: Reason,
    ctx: MessageContext,
    *,
    title: str = "",
    quantity: int = 1,
    options: Sequence[str] = (),
    expiry_days: float = 7,
    list_kind: str = "cart",
    limit: TextLimit | None = None,
    choices: Sequence[tuple[str, Sequence[str]]] = (),
    example: Sequence[str] = (),
    advice: str = "",
    buy: BuyFacts | None = None,
    sale: SaleFacts | None = None,
) -> str:
    """The text of a message for `reason`, ending with the trigger's reference code.

    Within `limit` (the network's, as it counts: domain/text_lengths) when it can be: the
    lists of `choices` (which_variant: ("color", values), ("size", values)) are cut first,
    each to its first values and how many more, then the product titles are shortened,
    then the shop's name, each with an ellipsis; the reference code, the links, the
    greeting and the `advice` (our own words, after the body: first_message_advice) are
    never touched."""

    def text(title_keep: int, shop_keep: int, values_keep: int = _WHOLE) -> str:
        return _compose(
            reason,
            ctx,
            title=title,
            quantity=quantity,
            options=options,
            expiry_days=expiry_days,
            list_kind=list_kind,
            title_keep=title_keep,
            shop_keep=shop_keep,
            choices=choices,
            values_keep=values_keep,
            example=example,
            advice=advice,
            buy=buy,
            sale=sale,
        )

    whole = text(MAX_TITLE_CHARS, _WHOLE)
    if limit is None or limit.fits(whole):
        return whole
    most_values = max((len(values) for _, values in choices), default=0)
    values_keep = _longest_that_fits(
        lambda n: limit.fits(text(MAX_TITLE_CHARS, _WHOLE, n)), most_values
    )
    if values_keep is not None:
        return text(MAX_TITLE_CHARS, _WHOLE, values_keep)
    keep = _longest_that_fits(lambda n: limit.fits(text(n, _WHOLE, 1)), MAX_TITLE_CHARS)
    if keep is not None:
        return text(keep, _WHOLE, 1)
    shop_keep = _longest_that_fits(lambda n: limit.fits(text(1, n, 1)), _MAX_SHOP_KEEP)
    # Nothing shorter fits (a greeting longer than the limit): the network will refuse it
    # and the dispatcher emails the shopper instead.
    return text(1, shop_keep if shop_keep is not None else 1, 1)


# "Do not shorten": longer than any shop name the console accepts.
_WHOLE = 10_000
_MAX_SHOP_KEEP = 200


def _longest_that_fits(fits: Callable[[int], bool], most: int) -> int | None:
    """The largest n in 1..most with fits(n) (fits is monotonic: shorter fits sooner)."""
    low, high, found = 1, most, None
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            found, low = middle, middle + 1
        else:
            high = middle - 1
    return found


def _compose(
    reason: Reason,
    ctx: MessageContext,
    *,
    title: str,
    quantity: int,
    options: Sequence[str],
    expiry_days: float,
    list_kind: str,
    title_keep: int,
    shop_keep: int,
    choices: Sequence[tuple[str, Sequence[str]]] = (),
    values_keep: int = _WHOLE,
    example: Sequence[str] = (),
    advice: str = "",
    buy: BuyFacts | None = None,
    sale: SaleFacts | None = None,
) -> str:
    shop = ctx.sanitize(shorten(ctx.sanitize(ctx.shop_name), shop_keep))
    named = _title(ctx, title, title_keep)
    item = _quantity(quantity, named) if title else ""
    if reason is Reason.ADDED:
        body = f"Added {item} to your cart at {shop}."
    elif reason is Reason.PENDING_APPLIED:
        where = "cart" if list_kind == "cart" else "wish list"
        body = (
            f"Your account is linked: {item} from your earlier reply is now in your "
            f"{where} at {shop}."
        )
    elif reason is Reason.WISHLISTED:
        body = f"Saved {item} to your wish list at {shop}."
    elif reason is Reason.LINKED:
        body = (
            f"This account is now linked to your account at {shop}: your tagged replies to "
            "our product posts now go straight to your cart."
        )
    elif reason is Reason.ALREADY_IN_CART:
        body = f"{named} is already in your cart at {shop}; nothing changed."
    elif reason is Reason.ALREADY_WISHLISTED:
        body = f"{named} is already on your wish list at {shop}; nothing changed."
    elif reason is Reason.UNAVAILABLE and buy is not None:
        body = f"Sorry, {named} is not available right now, so nothing was bought."
    elif reason is Reason.UNAVAILABLE:
        body = (
            f"Sorry, {named} is not available right now, so it is not in your "
            "cart. Your wish list can still keep it."
        )
    elif reason is Reason.REMOVED:
        body = f"Removed {named} from your cart at {shop}."
    elif reason is Reason.NOT_IN_CART:
        body = f"{named} was not in your cart at {shop}; nothing changed."
    elif reason is Reason.WHICH_VARIANT:
        body = _which_variant(ctx, named, choices, title_keep, values_keep, example)
    elif reason in _SALE_REASONS or (reason is Reason.LINK_NEEDED and sale is not None):
        body = _sale_text(reason, ctx, named, shop, sale or SaleFacts())
    elif reason in _BUY_REASONS:
        body = _buy_text(reason, item or named, shop, buy or BuyFacts())
    elif reason is Reason.OFFER_LOADED:
        body = (
            f"Offer loaded: {named} at {shop}. It comes off your next order with an "
            "eligible product by itself."
        )
    elif reason is Reason.OFFER_ALREADY_LOADED:
        body = f"Offer {named} is already on your account at {shop}; nothing changed."
    elif reason is Reason.OFFER_EXHAUSTED:
        body = f"Sorry, offer {named} at {shop} has been loaded as many times as it allows."
    elif reason is Reason.OFFER_EXPIRED:
        body = f"Sorry, offer {named} at {shop} has ended."
    elif reason is Reason.LINK_NEEDED:
        days = f"{expiry_days:g}"
        body = (
            f"To shop from your replies, link this account to {shop} at {ctx.account_url}. "
            f"We keep your requests for {days} days and add them once you link."
        )
    else:
        numbered = "; ".join(
            f"{i} {_title(ctx, name, title_keep)}" for i, name in enumerate(options, 1)
        )
        body = (
            f"That post shows several products ({numbered}). Reply again with the tag "
            "followed by the number you want, for example 2."
        )
    if advice:
        body = f"{body} {advice}"
    return f"{_greeting(ctx)}{body} (ref {reference(ctx.trigger_post_id)})"


def _which_variant(
    ctx: MessageContext,
    named: str,
    choices: Sequence[tuple[str, Sequence[str]]],
    title_keep: int,
    values_keep: int,
    example: Sequence[str],
) -> str:
    """`named` comes in several versions: each choice's first `values_keep` values (and
    how many more), then how to answer, with `example` (else each list's first value)."""
    lists = []
    firsts = []
    for label, values in choices:
        if not values:
            continue
        shown = [_title(ctx, value, title_keep) for value in values[:values_keep]]
        more = len(values) - len(shown)
        listed = ", ".join(shown) + (f" and {more} more" if more else "")
        lists.append(f"{label} {listed}")
        firsts.append(shown[0])
    offered = f": {'; '.join(lists)}" if lists else ""
    said = [_title(ctx, value, title_keep) for value in example] or firsts
    hint = f", for example {' '.join(said)}" if said else ""
    return (
        f"{named} comes in several versions{offered}. Reply again with the tag followed "
        f"by your choice{hint}."
    )


_BUY_REASONS = frozenset(
    {
        Reason.BUY_CONFIRM_NEEDED,
        Reason.PURCHASED,
        Reason.CONFIRM_EXPIRED,
        Reason.PAYMENT_DECLINED,
        Reason.PAYMENT_METHOD_NEEDED,
        Reason.LIMIT_REACHED,
        Reason.ADDRESS_NEEDED,
    }
)


def _buy_text(reason: Reason, item: str, shop: str, buy: BuyFacts) -> str:
    """Buy with a post's messages. The confirm tag is quoted on purpose, as the first-message
    advice does: the shop's own posts never act (services/ingest)."""
    minutes = f"{buy.minutes:g}"
    if reason is Reason.BUY_CONFIRM_NEEDED:
        offer = f" ({buy.offer_off} off with your {buy.offer_tag} offer)" if buy.offer_off else ""
        return (
            f"Buy {item} for {buy.total}{offer} at {shop} with your card ending in {buy.last4}? "
            f"Reply #{buy.confirm_tag} {buy.code} within {minutes} minutes. "
            "Nothing is charged until you do."
        )
    if reason is Reason.PURCHASED:
        return (
            f"Bought: {item} for {buy.total} at {shop}, order #{buy.order_id}. "
            "We emailed you the receipt."
        )
    if reason is Reason.CONFIRM_EXPIRED:
        return (
            "That code has expired, so nothing was bought and nothing was charged. "
            "Reply to the product post again to get a new one."
        )
    if reason is Reason.PAYMENT_DECLINED:
        why = f" ({buy.declined.rstrip('.')})" if buy.declined else ""
        return (
            f"Your card ending in {buy.last4} was declined{why}, so nothing was bought "
            f"and nothing was charged. You can update your card at {buy.payment_url}."
        )
    if reason is Reason.PAYMENT_METHOD_NEEDED:
        return (
            f"To buy {item} with a post, save a card on your account at {shop} first: "
            f"{buy.payment_url}. Nothing was bought."
        )
    if reason is Reason.ADDRESS_NEEDED:
        return (
            f"To buy {item} with a post, save where it ships on your account at {shop} "
            f"first: {buy.address_url}. Nothing was bought."
        )
    return (
        f"Buying {item} for {buy.total} would take today's buys with a post over your limit "
        f"of {buy.limit} at {shop}, so nothing was bought. You can still add it to your cart."
    )


_SALE_REASONS = frozenset(
    {
        Reason.CLAIM_WON,
        Reason.CLAIM_WAITLISTED,
        Reason.CLAIM_PROMOTED,
        Reason.CLAIM_RELEASED,
        Reason.CLAIM_UNKNOWN_ITEM,
        Reason.CLAIM_LIMIT,
        Reason.SALE_CLOSED,
        Reason.INVOICE_DUE,
    }
)


def _sale_text(reason: Reason, ctx: MessageContext, named: str, shop: str, sale: SaleFacts) -> str:
    """Live sales' messages (issue 13). The variant and the list of what exists are the
    catalog's words, sanitized like titles."""
    item = f"#{sale.item}"
    what = f"{item} {named}".rstrip()
    variant = ctx.sanitize(" ".join(tame(sale.variant).translate(_BIDI_CONTROLS).split()))
    won = f"{what}, {variant}" if variant else what
    priced = f"{won}, {sale.price}" if sale.price else won
    if reason is Reason.CLAIM_WON:
        return f"You got {priced} at {shop}; pay by {sale.pay_by}: {sale.link}"
    if reason is Reason.CLAIM_PROMOTED:
        return (
            f"Good news: {priced} came free at {shop} and is yours; pay by {sale.pay_by}: "
            f"{sale.link}"
        )
    if reason is Reason.LINK_NEEDED:
        return (
            f"You got {priced} at {shop}! Link this account at {ctx.account_url} within "
            f"{sale.minutes:g} minutes to keep it."
        )
    if reason is Reason.CLAIM_WAITLISTED:
        place = f"; you are number {sale.place} on its waitlist" if sale.place else ""
        return f"{what} at {shop} is all claimed{place}. We will tell you if it comes free."
    if reason is Reason.CLAIM_RELEASED:
        why = f" ({sale.why})" if sale.why else ""
        return f"{what} at {shop} is released{why} and went back to the sale."
    if reason is Reason.CLAIM_UNKNOWN_ITEM:
        asked = f"{item} {variant}".rstrip()
        exists = ctx.sanitize(tame(sale.exists).translate(_BIDI_CONTROLS))
        return f"This sale at {shop} has no {asked}. It has: {exists}."
    if reason is Reason.CLAIM_LIMIT:
        return (
            f"You already have as many of {what} as one shopper may claim ({sale.limit}) "
            f"at {shop}, so this claim was not taken."
        )
    if reason is Reason.SALE_CLOSED:
        name = ctx.sanitize(tame(sale.sale).translate(_BIDI_CONTROLS))
        return f"Sorry, the sale {name} at {shop} has closed, so {item} was not claimed."
    return f"Your invoice at {shop} for {won} is due by {sale.pay_by}: {sale.link}"


_SUBJECTS = {
    Reason.ADDED: "Added to your cart",
    Reason.WISHLISTED: "Saved to your wish list",
    Reason.ALREADY_IN_CART: "Already in your cart",
    Reason.ALREADY_WISHLISTED: "Already on your wish list",
    Reason.UNAVAILABLE: "Not available right now",
    Reason.LINK_NEEDED: "Link your account",
    Reason.WHICH_PRODUCT: "Which product did you mean?",
    Reason.PENDING_APPLIED: "Your earlier reply is in",
    Reason.LINKED: "Your account is linked",
    Reason.REMOVED: "Removed from your cart",
    Reason.NOT_IN_CART: "Not in your cart",
    Reason.WHICH_VARIANT: "Which one would you like?",
    # --- order care (issue 12) ---
    Reason.ORDER_STATUS: "Your orders",
    Reason.SHIPPED: "Your order has shipped",
    # --- orders and fulfilment (issue 14) ---
    Reason.ORDER_CANCELLED: "Your order has been cancelled",
    # --- buy with a post (issue 12) ---
    Reason.BUY_CONFIRM_NEEDED: "Confirm your purchase",
    Reason.PURCHASED: "Bought",
    Reason.CONFIRM_EXPIRED: "Your code has expired",
    Reason.PAYMENT_DECLINED: "Your card was declined",
    Reason.PAYMENT_METHOD_NEEDED: "Save a card to buy with a post",
    Reason.LIMIT_REACHED: "Daily limit reached",
    Reason.ADDRESS_NEEDED: "Save your address to buy with a post",
    # --- offers by hashtag (issue 12) ---
    Reason.OFFER_LOADED: "Your offer is loaded",
    Reason.OFFER_ALREADY_LOADED: "Your offer is already loaded",
    Reason.OFFER_EXHAUSTED: "That offer is all taken",
    Reason.OFFER_EXPIRED: "That offer has ended",
    # --- live sales (issue 13) ---
    Reason.CLAIM_WON: "You got it",
    Reason.CLAIM_WAITLISTED: "You are on the waitlist",
    Reason.CLAIM_PROMOTED: "It came free: it is yours",
    Reason.CLAIM_RELEASED: "Your claim was released",
    Reason.CLAIM_UNKNOWN_ITEM: "No such item in the sale",
    Reason.CLAIM_LIMIT: "Claim limit reached",
    Reason.SALE_CLOSED: "The sale has closed",
    Reason.INVOICE_DUE: "Your invoice is due",
}


def email_subject(reason: Reason, shop_name: str) -> str:
    """The subject of the email that says what a message would have said in public."""
    return f"{_SUBJECTS[reason]} at {shop_name}"
