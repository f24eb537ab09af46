"""A reminder (issue 14): one message when a cart line has waited `cart_reminder_hours`
without an order, to shoppers who asked for it on their account page, when the shop has it
on. Never more than one per cart: a cart is a customer's lines since their last order, and
its reminder takes a unique key (customer, last order) in the transaction that queues it,
so `serve`'s timer and `hashcart reminders send` may both run, and run again, safely.

It goes the way the shopper chose (services/notify): a public reply under the reply that
added the line, a private message, or email; email too when the line was added on the web
or the shopper is no longer linked on that network, and never anything but email to a
shopper who chose email only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hashcart.clock import Clock
from hashcart.domain.email_templates import fill_email
from hashcart.domain.messages import NotifyBy, Reason, compose, email_subject
from hashcart.domain.posts import Network
from hashcart.ports import Email, UnitsOfWork, WaitingCart
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

# Carts reminded per transaction; a run goes on until none is left.
BATCH = 200


def send_cart_reminders(units: UnitsOfWork, clock: Clock, shop: Shop, hours: float) -> int:
    """Queue the reminders due now (the caller checked the shop has them on); how many
    were queued."""
    queued = 0
    while True:
        now = clock.now()
        with units() as uow:
            repo = uow.repository
            carts = repo.waiting_carts(now - timedelta(hours=hours), BATCH)
            notices = Notices(shop)
            for cart in carts:
                if repo.claim_cart_reminder(cart.contact.customer_id, cart.after_order, now):
                    _tell(notices, shop, cart)
            queued += notices.flush(repo, now)
        if len(carts) < BATCH:
            return queued


def _tell(notices: Notices, shop: Shop, cart: WaitingCart) -> None:
    details: dict[str, Any] = {"title": cart.product_title, "quantity": cart.quantity}
    network = _network(cart.network)
    email_only = cart.contact.notify_by == NotifyBy.EMAIL_ONLY
    if network is not None and cart.account is not None and not email_only:
        account_id, handle = cart.account
        notices.tell(
            network, account_id, handle, cart.post_id, Reason.CART_REMINDER, cart.contact, **details
        )
        return
    # By email: no account to answer on, or the shopper wants email only.
    key = f"cart_reminder:{cart.contact.customer_id}:{cart.after_order}"
    body = compose(Reason.CART_REMINDER, shop.message_context("", key), **details)
    notices.emails.append(
        Email(
            to=cart.contact.email,
            subject=email_subject(Reason.CART_REMINDER, shop.name, shop.templates),
            text=fill_email(
                "email.cart_reminder",
                shop.templates,
                {"message": body, "account_url": shop.account_url, "shop": shop.name},
            )
            + "\n",
            reason=str(Reason.CART_REMINDER),
            dedupe_key=key,
        )
    )


def _network(name: str) -> Network | None:
    try:
        return Network(name)
    except ValueError:
        return None
