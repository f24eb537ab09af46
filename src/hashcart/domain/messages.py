"""What we tell a shopper about an action, and the words we use to say it.

Texts name the product, differ from message to message (networks reject a reply that
repeats an earlier one word for word) and never carry a trigger tag, so our own replies
can never trigger anything.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from hashcart.domain.email_templates import subject
from hashcart.domain.message_templates import TEMPLATES, fill
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
    # The merchant checks out at their own store (`checkout_at_store`, issue 16): the
    # confirmed buy was handed to the store, and this carries its checkout link.
    FINISH_AT_STORE = "finish_at_store"
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

    # --- issue 14: one reminder of a cart line that waited (services/reminders) ---
    CART_REMINDER = "cart_reminder"


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
    # The merchant's own store (issue 16, `checkout_at_store`): the buy finishes there, so
    # the confirm request names no card, and `finish_at_store` carries the store's name and
    # its checkout link.
    at_store: bool = False
    store: str = ""
    checkout_url: str = ""


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
    # The merchant's words over the defaults, by template key (domain/message_templates).
    templates: Mapping[str, str] = field(default_factory=dict)


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
    clean = ctx.sanitize(_plain(title))
    # Sanitized again: a cut can turn `#cartons` into a trigger tag (`#cart…`).
    return ctx.sanitize(_shortened(clean, keep))


# A title's plain form and its cut, remembered: every message quotes a product's title, the
# same few titles again and again, and reading a title's graphemes (twice: tame, shorten)
# was most of what composing a message cost (docs/benchmarks.md, "s26-engine"). Both are
# pure functions of their arguments; the caches are bounded.
@functools.lru_cache(maxsize=4096)
def _plain(title: str) -> str:
    """`title` with its graphemes tamed, bidi controls out, white space single."""
    return " ".join(tame(title).translate(_BIDI_CONTROLS).split())


_shortened = functools.lru_cache(maxsize=4096)(shorten)


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
    values = {
        "shop": shop,
        "product": named,
        "item": item,
        "offer": named,
        "account_url": ctx.account_url,
        "days": f"{expiry_days:g}",
        "list": "cart" if list_kind == "cart" else "wish list",
        "cart_url": ctx.account_url.removesuffix("/account") + "/cart",
    }
    key, body = str(reason), ""
    if reason is Reason.UNAVAILABLE and buy is not None:
        key = "unavailable_buy"
    elif reason is Reason.WHICH_VARIANT:
        plain = _which_variant(ctx, named, choices, title_keep, values_keep, example, values)
        if plain is not None:
            key, body = "", plain
    elif reason in SALE_REASONS or (reason is Reason.LINK_NEEDED and sale is not None):
        # Live sales' messages (issue 13), in the merchant's words (issue 14).
        if reason is Reason.LINK_NEEDED:
            key = "sale_link_needed"
        values.update(_sale_values(ctx, named, sale or SaleFacts()))
    elif reason in BUY_REASONS:
        values.update(_buy_values(buy or BuyFacts(), item or named))
        if reason is Reason.BUY_CONFIRM_NEEDED and buy is not None and buy.at_store:
            key = "buy_confirm_at_store"
    elif reason is Reason.WHICH_PRODUCT or key not in TEMPLATES:
        key = "which_product"
        values["choices"] = "; ".join(
            f"{i} {_title(ctx, name, title_keep)}" for i, name in enumerate(options, 1)
        )
    if key:
        body = fill(key, ctx.templates, values, ctx.sanitize)
    if advice:
        body = f"{body} {advice}"
    return _framed(ctx.handle, body, ctx.trigger_post_id, ctx.sanitize)


def _framed(handle: str, body: str, post_id: str, sanitize: Callable[[str], str]) -> str:
    """A message's text around its body: the @greeting, the reference code."""
    greeting = sanitize(handle.lstrip("@"))
    return f"{'@' + greeting + ' ' if greeting else ''}{body} (ref {reference(post_id)})"


# A waitlist place no shopper gets, written where the place goes (`Placed`).
_PLACE_MARK = 987_654_321_987


@dataclass
class Placed:
    """`compose(reason, ctx, title=title, limit=limit, sale=replace(sale, place=n))` for
    many shoppers (`text(handle, post_id, n)`), its body rendered once: a burst tells
    thousands their waitlist place with one item's template. The text is compose's exactly:
    the greeting, the place and the reference go where compose puts them, and a text over
    the network's limit (compose would shorten it) is composed as compose does."""

    reason: Reason
    ctx: MessageContext
    title: str
    sale: SaleFacts
    limit: TextLimit | None
    _body: tuple[str, str] | None = field(default=None, init=False)

    def text(self, handle: str, post_id: str, place: int) -> str:
        if self._body is None:
            marked = self._body_with(_PLACE_MARK)
            mark = str(_PLACE_MARK)
            # The place's digits stand nowhere else, and the template puts them in as they
            # are (string.Template): checked on one place, true of all.
            exact = marked.count(mark) == 1 and marked.replace(mark, "1") == self._body_with(1)
            self._body = (marked, mark) if exact else ("", "")
        marked, mark = self._body
        if mark:
            text = _framed(handle, marked.replace(mark, str(place)), post_id, self.ctx.sanitize)
            if self.limit is None or self.limit.fits(text):
                return text
        ctx = dataclasses.replace(self.ctx, handle=handle, trigger_post_id=post_id)
        sale = dataclasses.replace(self.sale, place=place)
        return compose(self.reason, ctx, title=self.title, limit=self.limit, sale=sale)

    def _body_with(self, place: int) -> str:
        """compose's body (no greeting, no reference) whole, with this place."""
        framed = _compose(
            self.reason,
            dataclasses.replace(self.ctx, handle="", trigger_post_id=""),
            title=self.title,
            quantity=1,
            options=(),
            expiry_days=7,
            list_kind="cart",
            title_keep=MAX_TITLE_CHARS,
            shop_keep=_WHOLE,
            sale=dataclasses.replace(self.sale, place=place),
        )
        return framed.removesuffix(f" (ref {reference('')})")


def _which_variant(
    ctx: MessageContext,
    named: str,
    choices: Sequence[tuple[str, Sequence[str]]],
    title_keep: int,
    values_keep: int,
    example: Sequence[str],
    values: dict[str, str],
) -> str | None:
    """`named` comes in several versions: each choice's first `values_keep` values (and
    how many more), then how to answer, with `example` (else each list's first value), put
    into `values`; None then (the template says it). A product without listed versions has
    the plain text."""
    lists = []
    firsts = []
    for label, values_of in choices:
        if not values_of:
            continue
        shown = [_title(ctx, value, title_keep) for value in values_of[:values_keep]]
        more = len(values_of) - len(shown)
        listed = ", ".join(shown) + (f" and {more} more" if more else "")
        lists.append(f"{label} {listed}")
        firsts.append(shown[0])
    if not lists:
        return (
            f"{named} comes in several versions. Reply again with the tag followed by your choice."
        )
    said = [_title(ctx, value, title_keep) for value in example] or firsts
    values["choices"] = "; ".join(lists)
    values["example"] = " ".join(said)
    return None


BUY_REASONS = frozenset(
    {
        Reason.BUY_CONFIRM_NEEDED,
        Reason.PURCHASED,
        Reason.CONFIRM_EXPIRED,
        Reason.PAYMENT_DECLINED,
        Reason.PAYMENT_METHOD_NEEDED,
        Reason.LIMIT_REACHED,
        Reason.ADDRESS_NEEDED,
        Reason.FINISH_AT_STORE,
    }
)


def _buy_values(buy: BuyFacts, item: str) -> dict[str, str]:
    """Buy with a post's facts as its templates' values. The confirm tag is quoted on
    purpose, as the first-message advice does: the shop's own posts never act
    (services/ingest)."""
    return {
        "item": item,
        "total": buy.total,
        "offer_note": (
            f" ({buy.offer_off} off with your {buy.offer_tag} offer)" if buy.offer_off else ""
        ),
        "card": buy.last4,
        "confirm_tag": buy.confirm_tag,
        "code": buy.code,
        "minutes": f"{buy.minutes:g}",
        "order": str(buy.order_id),
        "declined_note": f" ({buy.declined.rstrip('.')})" if buy.declined else "",
        "payment_url": buy.payment_url,
        "address_url": buy.address_url,
        "limit": buy.limit,
        "store": buy.store,
        "checkout_url": buy.checkout_url,
    }


SALE_REASONS = frozenset(
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


def _sale_values(ctx: MessageContext, named: str, sale: SaleFacts) -> dict[str, str]:
    """Live sales' facts as their templates' values. The variant, the sale's name and the
    list of what exists are the catalog's and merchant's words, sanitized like titles."""
    number = f"#{sale.item}"
    what = f"{number} {named}".rstrip()
    variant = ctx.sanitize(" ".join(tame(sale.variant).translate(_BIDI_CONTROLS).split()))
    won = f"{what}, {variant}" if variant else what
    return {
        "item_number": number,
        "sale_item": what,
        "won": won,
        "priced": f"{won}, {sale.price}" if sale.price else won,
        "pay_by": sale.pay_by,
        "invoice_url": sale.link,
        "hold_minutes": f"{sale.minutes:g}",
        "place_note": f"; you are number {sale.place} on its waitlist" if sale.place else "",
        "released_note": f" ({sale.why})" if sale.why else "",
        "asked": f"{number} {variant}".rstrip(),
        "exists": ctx.sanitize(tame(sale.exists).translate(_BIDI_CONTROLS)),
        "claim_limit": str(sale.limit),
        "sale": ctx.sanitize(tame(sale.sale).translate(_BIDI_CONTROLS)),
    }


def email_subject(
    reason: Reason, shop_name: str, templates: Mapping[str, str] | None = None
) -> str:
    """The subject of the email that says what a message would have said in public: the
    merchant's words when they rewrote it (`templates`, domain/email_templates)."""
    return subject(reason, shop_name, templates)
