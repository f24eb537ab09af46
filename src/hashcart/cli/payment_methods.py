"""Shoppers' saved payment methods: save a test card for a customer (scripts, the demo),
list what is saved. With Stripe configured the card is Stripe's test PaymentMethod for that
number (pm_card_visa for 4242…), attached to the shopper's Stripe customer; without it, the
test-card gateway's saved card. Never a card number is stored or printed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, errors, fail, print_json

payment_methods_app = typer.Typer(
    help="Shoppers' saved payment methods (a test card for scripts and the demo).",
    no_args_is_help=True,
)
app.add_typer(payment_methods_app, name="payment-methods")

# The longest card number (ISO/IEC 7812) with a space or dash between every digit.
MAX_CARD_CHARS = 40


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
    with hashcart.unit_of_work() as uow:
        customer_id = uow.gateway_records.customer_with_email(customer.strip())
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
