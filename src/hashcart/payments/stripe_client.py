"""Stripe's official library, pointed where the settings say (`stripe_api_base`).

Every request has a timeout: a payment step never hangs a checkout. The library retries a
request that failed on the network twice, with the same Idempotency-Key, as Stripe advises
(https://docs.stripe.com/error-low-level#idempotency)."""

from __future__ import annotations

from decimal import Decimal

import stripe

from hashcart.errors import HashcartError
from hashcart.ports import GatewayUnreachable

GATEWAY = "stripe"
# (connect, read) seconds for one request to Stripe.
TIMEOUT_SECONDS = 20
NETWORK_RETRIES = 2


class StripeNotConfigured(HashcartError):
    """Stripe was asked for without `stripe_secret_key` set."""


class StripeUnreachable(GatewayUnreachable):
    """Stripe did not answer (network, timeout, its own 5xx): the outcome is unknown, so
    nothing is recorded as declined; asking again with the same key is safe."""


def make_client(
    secret_key: str, api_base: str, network_retries: int = NETWORK_RETRIES
) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base.rstrip("/")},
        max_network_retries=network_retries,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


# Currencies Stripe counts without minor units, and those with three decimals
# (https://docs.stripe.com/currencies#zero-decimal, #three-decimal).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's smallest unit, as Stripe takes it (12.50 USD -> 1250).
    An amount finer than the currency allows is refused, not rounded."""
    code = currency.upper()
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise ValueError(f"{amount} {code} is not a positive amount of whole {code} units")
    return int(scaled)


# Stripe's card brands (PaymentMethod `card.brand`) as a shopper reads them.
BRAND_NAMES = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos Australia",
    "interac": "Interac",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def brand_name(brand: str | None) -> str:
    return BRAND_NAMES.get(brand or "", "Card")
