"""`hashcart orders [--customer EMAIL] [--json]` lists orders; `hashcart orders ship
ORDER_ID [--tracking URL] [--carrier NAME]` marks one shipped and tells its shopper (issue 12,
order care; the carrier, issue 14)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, fail, print_json

orders_app = typer.Typer(
    help="The shop's orders: list them, mark one shipped.",
    invoke_without_command=True,
)
app.add_typer(orders_app, name="orders")


@orders_app.callback()
def orders(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array (the shape of GET /api/orders).")
    ] = False,
) -> None:
    """List orders, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from hashcart.views import api_reads, queries

    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        customer_id = None
        if customer is not None:
            email = customer.strip().lower()
            customer_id = queries.customer_id_of(connection, email)
            if customer_id is None:
                fail(f"no customer with email {customer!r}")
        found = api_reads.orders(connection, customer_id)
    if as_json:
        print_json(found)
        return
    _print_table(found)


def _print_table(found: list[dict[str, Any]]) -> None:
    table = Table(title="orders")
    for column in ("order", "placed", "customer", "status", "total", "shipped", "from post"):
        table.add_column(column, overflow="fold")
    for order in found:
        source = order["source_post"]
        shipped = order["shipped_at"]
        table.add_row(
            str(order["id"]),
            order["created_at"].strftime("%Y-%m-%d %H:%M"),
            order["email"],
            order["status"],
            f"{order['total_amount']} {order['currency']}",
            (shipped.strftime("%Y-%m-%d") if shipped else "")
            + (f" {order['tracking_url']}" if order["tracking_url"] else ""),
            f"{source['network']} {source['post_id']}" if source else "",
        )
    console.print(table)


@orders_app.command("ship")
def ship(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="The order's number.")],
    tracking: Annotated[
        str | None,
        typer.Option("--tracking", help="The carrier's tracking page (an https:// link)."),
    ] = None,
    carrier: Annotated[
        str | None,
        typer.Option("--carrier", help="Who carries it (a name, at most 100 characters)."),
    ] = None,
) -> None:
    """Mark an order shipped and tell its shopper, once (marking it again changes nothing)."""
    from hashcart.services.order_care import (
        CarrierError,
        NoSuchOrder,
        ShipRefused,
        TrackingUrlError,
        mark_shipped,
    )

    if not order_id.isdigit() or len(order_id) > 12:
        fail(f"{order_id[:40]!r} is not an order number")
    hashcart = app_of(ctx)
    try:
        done = mark_shipped(
            hashcart.unit_of_work,
            hashcart.shop(),
            int(order_id),
            tracking,
            hashcart.clock.now(),
            carrier,
        )
    except (TrackingUrlError, CarrierError, ShipRefused, NoSuchOrder) as problem:
        fail(str(problem))
    if done.newly:
        told = f"; the shopper is told by {done.told}" if done.told else ""
        console.print(f"order {done.order_id} marked shipped{told}", markup=False, highlight=False)
    else:
        console.print(
            f"order {done.order_id} was already shipped on {done.shipped_at:%Y-%m-%d}; "
            "nothing changed",
            markup=False,
            highlight=False,
        )
