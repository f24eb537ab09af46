"""The payment form, read once: the shipping address and the way to pay, as the checkout,
an invoice's page and the account's saved address send them (the same field names as the
templates' `shop/_address_fields.html` and `shop/_payment_fields.html`).

A route takes `Annotated[PaymentForm, Depends(payment_form)]` (or the address alone,
`Depends(address_form)`) instead of repeating a dozen `Form` parameters; what it keeps
apart (the checkout's key, an invoice's pay key, "remember this address") stays its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form

from hashcart.services import checkout
from hashcart.web.form_problems import problems_summary

# What a re-rendered form shows again of any one typed value.
_ECHOED_CHARS = 300


@dataclass(frozen=True, slots=True)
class AddressForm:
    """The shipping address's fields as typed."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""

    def typed(self) -> dict[str, str]:
        """The fields by name, each cut to what a re-rendered form shows again."""
        return _echoed(
            {
                "name": self.name,
                "line1": self.line1,
                "line2": self.line2,
                "city": self.city,
                "postcode": self.postcode,
                "country": self.country,
            }
        )


def address_form(
    name: Annotated[str, Form()] = "",
    line1: Annotated[str, Form()] = "",
    line2: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    postcode: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
) -> AddressForm:
    """The address fields of the request's form (FastAPI dependency)."""
    return AddressForm(name, line1, line2, city, postcode, country)


@dataclass(frozen=True, slots=True)
class PaymentForm:
    """A payment form as sent: the summary the page showed (`shown`, `shown_offer`), the
    address, the way to pay and the card's fields."""

    address: AddressForm
    shown: str = ""
    shown_offer: str = ""
    payment_method: str = ""
    card_number: str = ""
    card_expiry: str = ""
    card_cvc: str = ""

    def typed(self) -> dict[str, str]:
        """What comes back on a re-rendered form: the address, the way to pay and the card's
        expiry; the card's number and CVC never do."""
        chosen = {"payment_method": self.payment_method, "card_expiry": self.card_expiry}
        return self.address.typed() | _echoed(chosen)

    def card_fields(self) -> dict[str, str]:
        """The card's fields for the gateway (a gateway without fields ignores them)."""
        return {
            "card_number": self.card_number,
            "card_expiry": self.card_expiry,
            "card_cvc": self.card_cvc,
        }


def payment_form(
    address: Annotated[AddressForm, Depends(address_form)],
    shown: Annotated[str, Form()] = "",
    shown_offer: Annotated[str, Form()] = "",
    payment_method: Annotated[str, Form()] = "",
    card_number: Annotated[str, Form()] = "",
    card_expiry: Annotated[str, Form()] = "",
    card_cvc: Annotated[str, Form()] = "",
) -> PaymentForm:
    """The payment form of the request (FastAPI dependency)."""
    return PaymentForm(
        address, shown, shown_offer, payment_method, card_number, card_expiry, card_cvc
    )


def form_problems(form: dict[str, str], *, way_to_pay: bool) -> tuple[str, dict[str, str]]:
    """The page's summary and each problem beside its field (issue 14): the address's, and
    no way to pay chosen when one is needed (`way_to_pay` False)."""
    fields = checkout.address_problems(form)
    if not way_to_pay:
        fields["payment_method"] = "Choose how you want to pay."
    return problems_summary(fields) or "", fields


def _echoed(values: dict[str, str]) -> dict[str, str]:
    return {key: value[:_ECHOED_CHARS] for key, value in values.items()}
