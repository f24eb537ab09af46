"""Shoppers' saved payment methods: save a test card for a customer (scripts, the demo),
list what is saved. With Stripe configured the card is Stripe's test PaymentMethod for that
number (pm_card_visa for 4242…), attached to the shopper's Stripe customer; without it, the
test-card gateway's saved card. Never a card number is stored or printed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, errors, fail, print_json

if TYPE_CHECKING:
    from hashcart.bootstrap import App

payment_methods_app = typer.Typer(
    help="Shoppers' saved payment methods (a test card for scripts and the demo; remove).",
    no_args_is_help=True,
)
app.add_typer(payment_methods_app, name="payment-methods")

# The longest card number (ISO/IEC 7812) with a space or dash between every digit.
MAX_CARD_CHARS = 40


# An address longer than RFC 5321 allows cannot be a customer's.
MAX_EMAIL_CHARS = 320


def _customer_with_email(hashcart: App, email: str) -> int | None:
    """The customer with that address; None for one no customer can have (too long, a NUL
    or a lone surrogate, which PostgreSQL's text refuses), without asking the database."""
    if len(email) > MAX_EMAIL_CHARS or "\x00" in email:
        return None
    try:
        email.encode()
    except UnicodeEncodeError:
        return None
    with hashcart.unit_of_work() as uow:
        return uow.gateway_records.customer_with_email(email)


@payment_methods_app.command("add")
def payment_methods_add(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="The customer's email address.")],
    card: Annotated[str, typer.Option("--card", help="A test card number, e.g. 4242424242424242.")],
) -> None:
    """Save a test card as the customer's payment method (it replaces the one before)."""
    from hashcart.payments.stripe_cards import CardNotSaved
    from hashcart.payments.stripe_client import StripeUnreachable
    from hashcart.services.payments import CardRefused, save_test_card

    number = "".join(card.split()).replace("-", "")
    if len(card) > MAX_CARD_CHARS or not number.isascii() or not number.isdigit():
        fail("--card: a card number is 12 to 19 digits")
    hashcart = app_of(ctx)
    customer_id = _customer_with_email(hashcart, customer.strip())
    if customer_id is None:
        fail(f"no customer with the email {customer.strip()!r}")
    cards = hashcart.stripe_cards()
    try:
        if cards is not None:
            saved = cards.save_test_card(customer_id, customer.strip(), number)
        else:
            saved = save_test_card(hashcart.unit_of_work, customer_id, number, hashcart.clock.now())
    except (CardRefused, CardNotSaved) as refused:
        fail(f"card not saved: {refused}")
    except StripeUnreachable as lost:
        errors.print(f"card not saved: {lost}", markup=False, highlight=False)
        raise typer.Exit(1) from lost
    console.print(
        f"saved {saved.brand} ending in {saved.last4} for {customer.strip()} ({saved.gateway})",
        markup=False,
        highlight=False,
    )


@payment_methods_app.command("remove")
def payment_methods_remove(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="The customer's email address.")],
) -> None:
    """Remove the customer's saved card: nothing charges it again, and the gateway is asked
    to detach it (asked again by the payment sweep while it does not answer)."""
    from hashcart.services.saved_cards import remove_saved_card, settle_cleanups

    email = customer.strip()
    hashcart = app_of(ctx)
    customer_id = _customer_with_email(hashcart, email)
    if customer_id is None:
        fail(f"no customer with the email {email!r}")
    now = hashcart.clock.now()
    removed = remove_saved_card(hashcart.unit_of_work, customer_id, now)
    if removed is None:
        fail(f"{email} has no saved card")
    card = removed.card
    console.print(
        f"removed {card.brand} ending in {card.last4} for {email} ({card.gateway})",
        markup=False,
        highlight=False,
    )
    outcomes = settle_cleanups(
        hashcart.unit_of_work, hashcart.provider_cleaners().get, now, removed.cleanups
    )
    for outcome in outcomes:
        if not outcome.done:
            # Removed here all the same: the sweep keeps asking the gateway (exit 0).
            errors.print(
                f"{card.gateway} did not detach it yet ({outcome.message}); "
                "`hashcart payments retry` or `hashcart serve` asks again",
                markup=False,
                highlight=False,
            )


@payment_methods_app.command("list")
def payment_methods_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Each customer's saved payment method: gateway, brand, last four digits."""
    from hashcart.views.payment_methods import saved_payment_methods

    with app_of(ctx).engine.connect() as connection:
        rows = saved_payment_methods(connection)
    if as_json:
        print_json(rows)
        return
    table = Table(title="Saved payment methods")
    for column in ("customer", "gateway", "card", "payment method", "saved"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["customer"],
            row["gateway"],
            f"{row['brand']} ···· {row['last4']}",
            row["payment_method"],
            row["saved_at"],
        )
    console.print(table)
