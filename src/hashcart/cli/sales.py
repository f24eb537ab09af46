"""`hashcart sales open|close|list|show|settle`: live sales (issue 13)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from hashcart.cli import app, app_of, console, fail, print_json

sales_app = typer.Typer(
    help="Live sales: claims in replies to a sale's posts, holds, waitlists, invoices.",
    no_args_is_help=True,
)
app.add_typer(sales_app, name="sales")


@sales_app.command("open")
def open_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sale's name (unique).")],
    post: Annotated[
        list[str],
        typer.Option(
            "--post",
            help="A post the sale runs on, NETWORK:POST_ID (repeat it); replies to any count.",
        ),
    ],
    item: Annotated[
        list[str],
        typer.Option(
            "--item",
            help="An item, NUMBER=PRODUCT_ID[:STOCK] (repeat it); no STOCK: the product's free "
            "units.",
        ),
    ],
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Units of an item one shopper may win (default: any)."),
    ] = None,
    hold_hours: Annotated[
        float,
        typer.Option("--hold-hours", help="How long a won item is held unpaid (default 24)."),
    ] = 24.0,
) -> None:
    """Open a live sale: replies to its posts claim its items (`sold 12`)."""
    from hashcart.domain.posts import network_names
    from hashcart.domain.sales import SaleInputError, parse_item_option, parse_post_option
    from hashcart.ports import NewSaleItem, SaleExists
    from hashcart.services.sales import open_sale

    hashcart = app_of(ctx)
    try:
        posts = [parse_post_option(text, network_names()) for text in post]
        items = [
            NewSaleItem(number, product, stock, limit)
            for number, product, stock in map(parse_item_option, item)
        ]
        sale = open_sale(
            hashcart.unit_of_work, name, posts, items, hold_hours, hashcart.clock.now()
        )
    except (SaleInputError, SaleExists) as problem:
        fail(str(problem))
    listed = ", ".join(f"#{i.number} {i.product_id} ({i.stock})" for i in sale.items)
    console.print(
        f"sale {sale.name!r} open on {len(sale.posts)} post(s): {listed}",
        markup=False,
        highlight=False,
    )


@sales_app.command("close")
def close(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sale's name.")],
) -> None:
    """Close a sale: claims made from now on are answered `sale_closed`; holds and invoices
    stay payable."""
    from hashcart.services.sales import close_sale

    hashcart = app_of(ctx)
    sale = close_sale(hashcart.unit_of_work, name, hashcart.clock.now())
    if sale is None:
        fail(f"no sale {name[:70]!r} (see `hashcart sales list`)")
    console.print(f"sale {sale.name!r} closed", markup=False, highlight=False)


@sales_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """The sales, newest first."""
    from hashcart.views.sales import sales_list

    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        found = sales_list(connection)
    if as_json:
        print_json(found)
        return
    table = Table(title="sales")
    for column in ("name", "status", "items", "claims", "hold hours", "opened"):
        table.add_column(column, overflow="fold")
    for sale in found:
        table.add_row(
            Text(sale["name"]),
            sale["status"],
            str(sale["items"]),
            str(sale["claims"]),
            f"{sale['hold_hours']:g}",
            sale["created_at"][:16],
        )
    console.print(table)


@sales_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sale's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the sale's invoices as CSV.")
    ] = False,
) -> None:
    """A sale's board: per item its stock, held, paid, free and waitlist; the totals."""
    from hashcart.views.sales import invoices_csv, sale_report

    if as_json and as_csv:
        fail("give --json or --csv, not both")
    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        if as_csv:
            written = invoices_csv(connection, name, hashcart.effective_settings().public_url)
            if written is None:
                fail(f"no sale {name[:70]!r} (see `hashcart sales list`)")
            sys.stdout.write(written)
            return
        report = sale_report(connection, name)
    if report is None:
        fail(f"no sale {name[:70]!r} (see `hashcart sales list`)")
    if as_json:
        print_json(report)
        return
    _print_board(report)


def _print_board(report: dict[str, Any]) -> None:
    from hashcart.views.sale_board import duration, revenue_text

    table = Table(title=f"{report['name']} ({report['status']})")
    table.add_column("item")
    table.add_column("product", overflow="fold")
    for column in ("stock", "held", "paid", "free", "waitlist", "claims"):
        table.add_column(column, justify="right")
    for line in report["items"]:
        table.add_row(
            "#" + line["item"],
            Text(line["title"] or line["product"]),
            *(str(line[c]) for c in ("stock", "held", "paid", "free", "waitlist", "claims")),
        )
    console.print(table)
    totals = report["totals"]
    rate = "-" if totals["paid_rate"] is None else f"{totals['paid_rate']:.0%}"
    paying = totals["time_to_pay"]
    console.print(
        f"units won {totals['units']}, paid {totals['units_paid']} ({rate}); revenue "
        f"{revenue_text(report)}; invoices {totals['invoices']} "
        f"({totals['invoices_paid']} paid); time to pay: median "
        f"{duration(paying['median_seconds'])}, p90 {duration(paying['p90_seconds'])}",
        markup=False,
        highlight=False,
    )


@sales_app.command("settle")
def settle(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Settle the claims whose settle window has passed, and the holds that ran out (ingest
    and serve do it as they go)."""
    from dataclasses import asdict

    from hashcart.services.sales import settle_sales

    hashcart = app_of(ctx)
    counts = settle_sales(hashcart.unit_of_work, hashcart.shop(), hashcart.clock)
    if as_json:
        print_json(asdict(counts))
        return
    console.print(
        f"settled {counts.settled} claim(s): {counts.won} won, {counts.waitlisted} waitlisted, "
        f"{counts.promoted} promoted, {counts.released} released, {counts.refused} refused; "
        f"{counts.messages} message(s) queued",
        markup=False,
        highlight=False,
    )
