"""Reminders: one message for each cart that waited `cart_reminder_hours` (issue 14)."""

from __future__ import annotations

from typing import Annotated

import typer

from hashcart.cli import app, app_of, console, print_json

reminders_app = typer.Typer(
    help="Reminders of carts that waited without an order.", no_args_is_help=True
)
app.add_typer(reminders_app, name="reminders")


@reminders_app.command("send")
def reminders_send(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Queue a reminder for every cart whose oldest line has waited `cart_reminder_hours`
    without an order, to shoppers who asked for one, when the shop has them on (what
    `hashcart serve` does every minute). Safe to run again: a cart is reminded once."""
    hashcart = app_of(ctx)
    settings = hashcart.effective_settings()
    queued = hashcart.send_reminders()
    if as_json:
        print_json({"queued": queued, "enabled": settings.cart_reminders})
        return
    if not settings.cart_reminders:
        console.print(
            "cart reminders are off for this shop: nothing queued (turn them on in the "
            "console's settings, or set cart_reminders = true)",
            markup=False,
            highlight=False,
        )
        return
    console.print(f"{queued} cart reminder{'s' if queued != 1 else ''} queued")
