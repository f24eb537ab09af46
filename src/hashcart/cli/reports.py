"""The read side: carts, wish lists, pending intents, outbox, dead letters; tables or JSON."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, fail, print_json


def print_lists(title: str, lists: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(lists)
        return
    table = Table(title=title)
    table.add_column("customer", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("product", min_width=24, ratio=1)
    table.add_column("qty", justify="right")
    table.add_column("network", no_wrap=True)
    table.add_column("from post", no_wrap=True, overflow="ellipsis", max_width=14)
    for entry in lists:
        for line in entry["lines"]:
            table.add_row(
                entry["customer"],
                line["title"],
                str(line["quantity"]),
                line["network"],
                line["post_id"],
            )
    console.print(table)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON array.")]


@app.command()
def carts(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show carts."""
    from hashcart.views import queries

    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        email = customer.strip().lower() if customer else None
        if email is not None and not queries.customer_exists(connection, email):
            fail(f"no customer with email {customer!r}")
        print_lists("carts", queries.carts(connection, email), as_json)


@app.command()
def wishlists(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show wish lists."""
    from hashcart.views import queries

    with app_of(ctx).engine.connect() as connection:
        print_lists("wish lists", queries.wishlists(connection), as_json)


def print_rows(title: str, rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[column]) for column in columns))
    console.print(table)


@app.command()
def pending(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show requests from accounts not linked yet."""
    from hashcart.views import queries

    with app_of(ctx).engine.connect() as connection:
        print_rows(
            "pending intents",
            queries.pending(connection),
            ["network", "handle", "list", "title", "quantity", "expires_at", "status"],
            as_json,
        )


@app.command()
def outbox(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show messages queued for shoppers."""
    from hashcart.views import queries

    with app_of(ctx).engine.connect() as connection:
        print_rows(
            "outbox",
            queries.outbox(connection),
            ["network", "in_reply_to", "reason", "text"],
            as_json,
        )


@app.command()
def deadletters(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show input lines that could not be read, with the reason."""
    from hashcart.views import queries

    with app_of(ctx).engine.connect() as connection:
        print_rows(
            "dead letters", queries.dead_letters(connection), ["source", "line", "reason"], as_json
        )
