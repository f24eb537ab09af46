"""Stripe's webhook events (`/webhooks/stripe`), verified with the endpoint's signing secret
through Stripe's own library (https://docs.stripe.com/webhooks#verify-events: the
`Stripe-Signature` header, HMAC-SHA256 over `timestamp.body`, five minutes' tolerance).

They keep hashcart's payment records right when an answer went missing: a PaymentIntent
authorised, declined, cancelled or captured while hashcart did not hear the reply, and a
card saved on the account page whose browser never came back. Each event is taken once
(its id is noted in the same transaction as what it changed); a repeat changes nothing.
Stripe sends events at least once and in any order
(https://docs.stripe.com/webhooks#handle-duplicate-events), so every change names the
status it expects, as the checkout's own steps do.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import stripe

from hashcart.payments.stripe_cards import CardNotSaved, StripeCards
from hashcart.payments.stripe_client import GATEWAY
from hashcart.ports import Authorisation, Clock, UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)

# The most an event body may be: Stripe's events are a few kilobytes.
MAX_BODY_BYTES = 512 * 1024
# How far a signature's timestamp may be from now: Stripe's library default for
# construct_event (verify_header alone checks none, so it is given here).
TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE
# Stripe's ids (evt_…, pi_…, seti_…): letters, digits and underscores, well under 255.
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


@dataclass(frozen=True)
class Outcome:
    status: int
    detail: str


def receive(
    body: bytes,
    signature: str | None,
    secret: str,
    units: UnitsOfWork,
    clock: Clock,
    cards: StripeCards | None,
) -> Outcome:
    """Verify, then take the event once. A bad or stale signature is a 400 and changes
    nothing (Stripe's library refuses a timestamp more than 300 s off); so is a signed body
    that is no event."""
    try:
        stripe.WebhookSignature.verify_header(
            body.decode("utf-8"), signature or "", secret, tolerance=TOLERANCE_SECONDS
        )
        event = json.loads(body)
    except (ValueError, stripe.SignatureVerificationError) as refused:
        return Outcome(400, f"refused: {type(refused).__name__}")
    thing = event.get("data", {}).get("object") if isinstance(event, dict) else None
    event_id, kind = (event.get("id"), event.get("type")) if isinstance(event, dict) else ("", "")
    if not (isinstance(event_id, str) and STRIPE_ID.fullmatch(event_id) and isinstance(kind, str)):
        return Outcome(400, "refused: not an event")
    thing_id = thing.get("id") if isinstance(thing, dict) else None
    if not (
        isinstance(thing, dict) and isinstance(thing_id, str) and STRIPE_ID.fullmatch(thing_id)
    ):
        return Outcome(400, "refused: an event without its object")
    if kind == "setup_intent.succeeded":
        return _card_saved(event_id, thing, units, clock, cards)
    with units() as uow:
        if not uow.gateway_records.first_sight_of_event(GATEWAY, event_id, clock.now()):
            return Outcome(200, "a repeat: nothing changed")
        if kind.startswith("payment_intent."):
            return _payment_intent(kind, thing, uow, clock)
    return Outcome(200, f"{kind}: nothing to do")


def _payment_intent(kind: str, intent: dict[str, Any], uow: UnitOfWork, clock: Clock) -> Outcome:
    intent_id = str(intent["id"])
    record = uow.gateway_records.payment_with_reference(GATEWAY, intent_id)
    if record is None:
        return Outcome(200, f"{kind}: no payment of ours")
    key, now = record.checkout_key, clock.now()
    payments = uow.payments
    if kind == "payment_intent.amount_capturable_updated" and record.status == "authorising":
        payments.record_authorisation(
            key, Authorisation(True, intent_id, "Authorised by card.", paid=True), now
        )
    elif kind == "payment_intent.payment_failed" and record.status == "authorising":
        error = intent.get("last_payment_error")
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message.strip():
            message = "The card was declined."
        message = message[:500]
        payments.record_authorisation(key, Authorisation(False, "", message), now)
    elif kind == "payment_intent.canceled":
        payments.move(key, expected={"authorised"}, to="voided", now=now)
    elif kind == "payment_intent.succeeded":
        payments.move(key, expected={"authorised"}, to="captured", now=now)
    else:
        return Outcome(200, f"{kind}: nothing to do")
    return Outcome(200, f"{kind}: recorded")


def _card_saved(
    event_id: str,
    intent: dict[str, Any],
    units: UnitsOfWork,
    clock: Clock,
    cards: StripeCards | None,
) -> Outcome:
    """Keep the card a SetupIntent saved (asked of Stripe, outside any transaction), then
    note the event; saving the same card twice is harmless, so a repeat is too."""
    with units() as uow:
        customer_id = uow.gateway_records.customer_of_provider(GATEWAY, str(intent.get("customer")))
    if customer_id is None or cards is None:
        return Outcome(200, "setup_intent.succeeded: no customer of ours")
    try:
        cards.finish_setup(customer_id, str(intent["id"]))
    except CardNotSaved as refused:
        log.warning("Stripe SetupIntent %s not kept: %s", intent["id"], refused)
        return Outcome(200, f"setup_intent.succeeded: not kept ({refused})")
    with units() as uow:
        uow.gateway_records.first_sight_of_event(GATEWAY, event_id, clock.now())
    return Outcome(200, "setup_intent.succeeded: card kept")
