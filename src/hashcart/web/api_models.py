"""The JSON API's response shapes, as pydantic models so the OpenAPI document is exact.

Carts and wish lists have the shapes of `hashcart carts --json` / `wishlists --json`
(`store.queries`); money is a decimal string ("18.00"), times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class ListLine(BaseModel):
    product_id: str
    title: str
    quantity: int
    network: str = Field(description='The trigger post\'s network, or "web" for a web add.')
    post_id: str = Field(description="The trigger post (web adds: <network>/<post id>).")


class CustomerList(BaseModel):
    customer: str = Field(description="The customer's email address.")
    lines: list[ListLine]


class Money(BaseModel):
    currency: str
    amount: Decimal


class ProductRef(BaseModel):
    product_id: str
    title: str


class FunnelPost(BaseModel):
    network: str
    post_id: str
    url: str | None = Field(description="The post on its network (https), when known.")
    author_handle: str
    text: str | None = Field(description="null once the author deleted the post.")
    created_at: datetime
    products: list[ProductRef]
    triggers: int = Field(description="Trigger replies seen.")
    valid_triggers: int = Field(
        description="Triggers that put a product on a list or made a pending intent."
    )
    carted: int = Field(description="Cart adds from replies, and from the web for this post.")
    wishlisted: int
    pending: int = Field(description="Requests still waiting for their account to link.")
    orders: int = Field(description="Distinct orders with a line from this post.")
    units: int
    revenue: list[Money] = Field(description="Per currency; never added across currencies.")
    # Buy with a post (issue 12).
    buys_requested: int = Field(0, description="`#buy` replies answered with a code.")
    buys_confirmed: int = Field(0, description="Of those, the ones whose code was confirmed.")
    buy_revenue: list[Money] = Field(
        default_factory=list, description="Totals of the buys with a post bought, per currency."
    )
    offer_loads: int = Field(0, description="Offers loaded by replies to this post.")
    offer_redemptions: int = Field(0, description="Of those loads, how many an order redeemed.")


class ShippingAddress(BaseModel):
    name: str
    line1: str
    line2: str | None
    city: str
    postcode: str
    country: str


class OrderLine(BaseModel):
    product_id: str
    title: str
    unit_price: Decimal
    currency: str
    quantity: int
    network: str | None = Field(description="The shoppable post the line came from, if any.")
    post_id: str | None
    trigger_post_id: str | None = Field(
        None, description="The shopper's reply that put the line in the cart, if any."
    )


class SourcePost(BaseModel):
    network: str
    post_id: str
    author_id: str | None = Field(description="Null once the post is no longer stored.")
    author_handle: str | None
    parent_post_id: str | None = Field(description="The shoppable post it replied to.")


class OrderOffer(BaseModel):
    """The offer an order redeemed (issue 12, offers by hashtag)."""

    id: int
    tag: str = Field(description="The offer's hashtag, without '#'.")
    percent_off: Decimal | None
    amount_off: Decimal | None
    discount: Decimal = Field(
        description="What it took off this order (`total_amount` is after it)."
    )


class Order(BaseModel):
    id: int
    status: str
    email: str
    created_at: datetime
    total_amount: Decimal
    currency: str
    payment_gateway: str
    payment_reference: str
    shipping: ShippingAddress
    lines: list[OrderLine]
    shipped_at: datetime | None = Field(
        None, description="When the merchant marked the order shipped; null until then."
    )
    tracking_url: str | None = Field(None, description="The carrier's tracking page, if given.")
    carrier: str | None = Field(None, description="The carrier named when it was shipped.")
    cancelled_at: datetime | None = Field(
        None, description="When the merchant cancelled the order (status `cancelled`)."
    )
    source_post: SourcePost | None = Field(
        None,
        description="The trigger post the order's first social line came from (the reply "
        "that put it in the cart); null for an order from the web only.",
    )
    offer: OrderOffer | None = Field(
        None, description="The loaded offer this order redeemed; null when none applied."
    )


class Product(BaseModel):
    product_id: str
    title: str
    link: str
    price: Decimal | None
    currency: str | None
    availability: str
    updated_at: datetime


class OutboxMessage(BaseModel):
    id: int
    network: str
    channel: str = Field(description="reply | private | email")
    account_id: str
    in_reply_to: str
    reason: str
    subject: str | None
    text: str
    status: str = Field(description="queued | sent | failed")
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class Problem(BaseModel):
    detail: str
