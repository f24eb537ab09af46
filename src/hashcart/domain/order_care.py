"""Order care on social (issue 12): what a shopper is told about their orders, and which
tracking links a merchant may give.

A shopper who posts `#order` to the shop hears about their latest orders privately: the order
number, the day it was placed, its status and, once shipped, the carrier's tracking link.
Such a message names what someone bought and where it is going, so it never goes as a
public reply (see `carries_order_details`). When the merchant marks an order shipped, the
shopper is told on their chosen channel; a public reply then says only that it shipped and
points to the order page (which needs their sign-in), never the tracking link.

Texts follow domain/messages: no trigger tag (strangers' words are sanitized, and the order
number is written `order 12`, never `#12`), a reference code, and each network's length.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from hashcart.domain.email_templates import BODY_PREFIX, MONEY_BACK, fill_email
from hashcart.domain.message_templates import fill
from hashcart.domain.messages import MessageContext, reference
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import TextLimit, shorten
from hashcart.errors import HashcartError

__all__ = [
    "MAX_CARRIER",
    "MAX_LISTED",
    "MAX_TRACKING_URL",
    "CarrierError",
    "CustomerOrders",
    "OrderState",
    "ShippingFacts",
    "SocialSource",
    "TrackingUrlError",
    "cancelled_email",
    "cancelled_text",
    "carries_order_details",
    "check_carrier",
    "check_tracking_url",
    "mentions",
    "order_link_prompt",
    "order_status_email",
    "order_status_text",
    "shipped_email",
    "shipped_text",
]

# The newest orders an `#order` answer lists; older ones are counted and left to the page.
MAX_LISTED = 3
# The longest tracking link kept (the column's width). Carriers' links are well under it.
MAX_TRACKING_URL = 500
# The longest shop name a message quotes before a network's limit applies.
_SHOP_KEEP = 60

# Networks whose private message is a channel hashcart can rely on for order details:
# Mastodon's `direct` status (methods/statuses.md, visibility=direct) and Bluesky chat
# (chat.bsky.convo.sendMessage through the shop's app password). X is not one: since 2026
# X's direct messages are X Chat, end-to-end encrypted with keys hashcart does not hold
# (docs.x.com/xchat/introduction), so order details for an X account go by email.
_PRIVATE_NETWORKS = frozenset({"mastodon", "bluesky"})

# What a shopper reads for each stored status (orders.status), and for a shipped order.
_STATUS_WORDS = {
    "placed": "placed, to pay by invoice",
    "paid": "paid",
    "refunded": "refunded",
    "cancelled": "cancelled",
}
SHIPPED = "shipped"


def carries_order_details(network: str) -> bool:
    """Whether a private message on `network` may carry order details (else: email)."""
    return network in _PRIVATE_NETWORKS


@dataclass(frozen=True, slots=True)
class OrderState:
    """One order as its shopper is told of it."""

    number: int
    placed_at: datetime
    status: str  # orders.status: placed | paid | refunded | cancelled
    shipped_at: datetime | None = None
    tracking_url: str | None = None

    @property
    def shown_status(self) -> str:
        """Shipped, once marked so, unless the money went back (a refund says more)."""
        if self.shipped_at is not None and self.status not in ("refunded", "cancelled"):
            return SHIPPED
        return _STATUS_WORDS.get(self.status, self.status)


@dataclass(frozen=True, slots=True)
class CustomerOrders:
    """A customer's newest orders (newest first) and how many they have in all."""

    latest: tuple[OrderState, ...]
    total: int


@dataclass(frozen=True, slots=True)
class SocialSource:
    """The trigger post an order's line came from, by an account still linked to the
    order's customer: where news of the order can answer."""

    network: Network
    post_id: str
    account_id: str
    handle: str


@dataclass(frozen=True, slots=True)
class ShippingFacts:
    """What marking an order shipped needs to know of it."""

    order_id: int
    customer_id: int | None  # None once the customer deleted their account
    email: str
    status: str
    shipped_at: datetime | None
    tracking_url: str | None
    source: SocialSource | None


# --- tracking links ---------------------------------------------------------------------


class TrackingUrlError(HashcartError, ValueError):
    """A tracking link hashcart will not give a shopper; the message says why."""


# A DNS name of labels (letters, digits, hyphens; punycode for the rest), with a dot.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def check_tracking_url(written: str) -> str:
    """`written` as a tracking link to give shoppers, or TrackingUrlError.

    Only `https://` links to a public host name: no other scheme (`javascript:`, `data:`,
    plain `http:`), no user name or password in it (`https://carrier@evil.test/` reads as
    the carrier's), no IP address or single-label host (nothing on the shop's own network),
    no spaces or control characters, and at most MAX_TRACKING_URL characters."""
    url = written.strip()
    if not url:
        raise TrackingUrlError("the tracking link is empty")
    if len(url) > MAX_TRACKING_URL:
        raise TrackingUrlError(f"the tracking link is longer than {MAX_TRACKING_URL} characters")
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        raise TrackingUrlError(
            "the tracking link has spaces, control characters or non-ASCII letters in it "
            "(write the host in punycode)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TrackingUrlError("the tracking link is not a URL") from None
    if parts.scheme.lower() != "https":
        raise TrackingUrlError("the tracking link must start with https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TrackingUrlError("the tracking link must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if port == 0:
        raise TrackingUrlError("the tracking link's port is not a port")
    if _is_ip(host):
        raise TrackingUrlError("the tracking link must name a host, not an IP address")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise TrackingUrlError("the tracking link's host is not a public host name")
    if labels[-1] in ("localhost", "local", "internal", "test", "invalid"):
        raise TrackingUrlError("the tracking link's host is not a public host name")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.replace(".", "").isdigit()  # 127.1 and other short forms
    return True


# --- mentions of the shop -----------------------------------------------------------------

# `@name`, `@name@server` (Mastodon) or `@name.bsky.social` (Bluesky), as the post's text
# shows it, not inside a word or an email address.
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.\-]*(?:@[A-Za-z0-9.\-]+)?)")


def mentions(text: str, handles: frozenset[str]) -> bool:
    """Whether `text` mentions one of `handles` (lower-case, without '@'). A Mastodon
    mention shows only the name's first part (`@trailhead` for `trailhead@coffee.social`),
    so the first parts are compared when either side has no server."""
    if not handles:
        return False
    locals_ = {handle.split("@", 1)[0] for handle in handles}
    for found in _MENTION.findall(text):
        name = found.lower().rstrip(".")
        if name in handles:
            return True
        if "@" not in name and name in locals_:
            return True
        if "@" in name and name.split("@", 1)[0] in handles:
            return True
    return False


# --- messages ---------------------------------------------------------------------------


# Handles are letters, digits and `_.-@`; anything else (spaces, line breaks, direction
# controls a payload may carry) would let a stranger's handle rearrange the message.
_NOT_HANDLE = re.compile(r"[^\w.@-]")


def _greeting(ctx: MessageContext) -> str:
    handle = ctx.sanitize(_NOT_HANDLE.sub("", ctx.handle).lstrip("@"))
    return f"@{handle} " if handle else ""


def _shop(ctx: MessageContext) -> str:
    return ctx.sanitize(shorten(ctx.sanitize(ctx.shop_name), _SHOP_KEEP))


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _one(ctx: MessageContext, order: OrderState, *, with_tracking: bool) -> str:
    said = f"order {order.number}, {_day(order.placed_at)}, {order.shown_status}"
    if with_tracking and order.shown_status == SHIPPED and order.tracking_url:
        said += f", tracking {ctx.sanitize(order.tracking_url)}"
    return said


def _status_body(
    ctx: MessageContext,
    orders: Sequence[OrderState],
    total: int,
    orders_url: str,
    shown: int,
    *,
    with_tracking: bool = True,
) -> str:
    values = {"shop": _shop(ctx), "orders_url": orders_url}
    if not orders:
        return fill("order_status_none", ctx.templates, values, ctx.sanitize)
    listed = "; ".join(_one(ctx, order, with_tracking=with_tracking) for order in orders[:shown])
    more = total - shown
    tail = f" and {more} more" if more > 0 else ""
    return fill("order_status", ctx.templates, {**values, "orders": listed + tail}, ctx.sanitize)


def order_status_text(
    ctx: MessageContext,
    orders: Sequence[OrderState],
    total: int,
    orders_url: str,
    limit: TextLimit | None = None,
) -> str:
    """The private answer to `#order`: the newest `orders` (at most MAX_LISTED) of `total`.

    Within `limit` when it can be: fewer orders are listed (the rest counted as "and N
    more"), then the newest alone without its tracking link (the orders page has it);
    no link is ever cut. A message that cannot fit even so is sent as it is, and a network
    that refuses it leaves the dispatcher to email it instead."""
    head = orders[:MAX_LISTED]
    total = max(total, len(head))
    if not head:
        return _with_ref(ctx, _status_body(ctx, head, total, orders_url, 0))
    text = ""
    for with_tracking in (True, False):
        for shown in range(len(head), 0, -1):
            body = _status_body(ctx, head, total, orders_url, shown, with_tracking=with_tracking)
            text = _with_ref(ctx, body)
            if limit is None or limit.fits(text):
                return text
    return text


def order_status_email(
    ctx: MessageContext, orders: Sequence[OrderState], total: int, orders_url: str, network: str
) -> str:
    """The email sent instead where the network has no private message for order details."""
    head = orders[:MAX_LISTED]
    body = _status_body(ctx, head, max(total, len(head)), orders_url, len(head))
    values = {
        "answer": f"{body} (ref {reference(ctx.trigger_post_id)})",
        "network": network,
        "shop": _shop(ctx),
        "orders_url": orders_url,
    }
    return _email(ctx, "order_status", values)


def order_link_prompt(ctx: MessageContext) -> str:
    """The answer to `#order` from an account no customer linked: how to link, no data."""
    return _with_ref(
        ctx,
        f"To hear about your orders here, link this account to {_shop(ctx)} at {ctx.account_url}.",
    )


def shipped_text(
    ctx: MessageContext,
    number: int,
    tracking_url: str | None,
    order_url: str,
    *,
    public: bool,
) -> str:
    """The news that order `number` shipped: with its tracking link in private, only the
    order page's address in a public reply (the page needs the shopper's sign-in). In the
    merchant's words when they rewrote `shipped` or `shipped_tracking` (issue 14)."""
    values = {
        "order": str(number),
        "shop": _shop(ctx),
        "order_url": order_url,
        "tracking_url": ctx.sanitize(tracking_url or ""),
    }
    key = "shipped_tracking" if tracking_url and not public else "shipped"
    return _with_ref(ctx, fill(key, ctx.templates, values, ctx.sanitize))


def shipped_email(
    ctx: MessageContext, number: int, tracking_url: str | None, order_url: str
) -> str:
    values = {"order": str(number), "shop": _shop(ctx), "order_url": order_url}
    if tracking_url:
        return _email(ctx, "shipped_tracking", {**values, "tracking_url": tracking_url})
    return _email(ctx, "shipped", values)


# --- carriers (issue 14) -------------------------------------------------------------------

MAX_CARRIER = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


class CarrierError(HashcartError, ValueError):
    """A carrier name hashcart will not keep; the message says why."""


def check_carrier(written: str | None) -> str | None:
    """The carrier's name as the merchant typed it, spaces tidied (None when blank), or
    CarrierError: at most 100 characters, no control or direction characters."""
    if written is None:
        return None
    if _CONTROL.search(written.replace("\t", " ")):
        raise CarrierError("the carrier's name has a control character in it")
    name = " ".join(written.split())
    if not name:
        return None
    if len(name) > MAX_CARRIER:
        raise CarrierError(f"the carrier's name is longer than {MAX_CARRIER} characters")
    return name


# --- cancelled (issue 14) ------------------------------------------------------------------


def cancelled_text(ctx: MessageContext, number: int, order_url: str, *, public: bool) -> str:
    """The news that the shop cancelled order `number`: in a public reply only that it was
    and the order page's address (the page needs the shopper's sign-in); in private also
    what happens to the money. Both fit every network's limit with the shop name shortened
    as the other order messages do it. In the merchant's words when they rewrote
    `order_cancelled` (issue 14)."""
    values = {
        "order": str(number),
        "shop": _shop(ctx),
        "order_url": order_url,
        "money_note": "" if public else f" {MONEY_BACK}",
    }
    return _with_ref(ctx, fill("order_cancelled", ctx.templates, values, ctx.sanitize))


def cancelled_email(ctx: MessageContext, number: int, order_url: str) -> str:
    values = {"order": str(number), "shop": _shop(ctx), "order_url": order_url}
    return _email(ctx, "order_cancelled", values)


def _email(ctx: MessageContext, name: str, values: dict[str, str]) -> str:
    """An order email's body in the merchant's words, else the default (issue 14)."""
    return fill_email(BODY_PREFIX + name, ctx.templates, values) + "\n"


def _with_ref(ctx: MessageContext, body: str) -> str:
    return f"{_greeting(ctx)}{body} (ref {reference(ctx.trigger_post_id)})"
