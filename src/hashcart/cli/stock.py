"""`hashcart stock`: the merchant's stock counts, and what checkouts hold of them.

A product's count is the units on hand to sell; `unknown` means it is not counted (no
limit: its availability alone decides). Checkouts hold units while they pay (store/stock);
`list` shows them beside the count, and what is left free.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from hashcart.cli import app, app_of, console, fail, print_json

stock_app = typer.Typer(
    help="Stock counts: units on hand per product, and units held by checkouts.",
    no_args_is_help=True,
)
app.add_typer(stock_app, name="stock")


# `-1` is read as QUANTITY, not as an unknown option, so it gets the message that says why.
def _shown(text: str) -> str:
    """A feed's id or title as a terminal may print it: every character that does not
    print (an escape sequence would recolour or clear the operator's terminal) written out
    as Python writes it, `\\x1b`."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@stock_app.command("set", context_settings={"ignore_unknown_options": True})
def stock_set(
    ctx: typer.Context,
    product_id: Annotated[str, typer.Argument(metavar="PRODUCT_ID", help="The product's id.")],
    quantity: Annotated[
        str,
        typer.Argument(
            metavar="QUANTITY",
            help="Units on hand, a whole number from 0; 'unknown': not counted (no limit).",
        ),
    ],
) -> None:
    """Set a product's stock count. Units held by checkouts stay held, even above it."""
    from hashcart.domain.stock import StockCountError, parse_stock_count
    from hashcart.domain.storable import is_storable
    from hashcart.services.feed_import import MAX_PRODUCT_ID
    from hashcart.views.stock import stock_line

    try:
        count = parse_stock_count(quantity)
    except StockCountError as error:
        fail(str(error))
    hashcart = app_of(ctx)
    # An id no products row can have is looked up nowhere (PostgreSQL refuses a NUL).
    findable = len(product_id) <= MAX_PRODUCT_ID and is_storable(product_id)
    with hashcart.unit_of_work() as uow:
        changed = findable and uow.repository.set_stock_count(product_id, count)
    if not changed:
        fail(f"no product with id {product_id[:60]!r}")
    with hashcart.engine.connect() as connection:
        line = stock_line(connection, product_id, hashcart.clock.now())
    assert line is not None
    if line.stock is None:
        said = "unknown (not counted)"
    else:
        said = f"{line.stock} ({line.held} held, {line.free} free)"
    console.print(f"stock of {_shown(product_id)}: {said}", markup=False, highlight=False)


@stock_app.command("list")
def stock_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Each product's stock count, the units held by checkouts paying, and the units free."""
    from hashcart.views.stock import stock_lines

    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        lines = stock_lines(connection, hashcart.clock.now())
    if as_json:
        print_json([line.as_json() for line in lines])
        return
    table = Table(title="stock")
    table.add_column("product", overflow="fold")
    table.add_column("title", overflow="fold")
    for column in ("stock", "held", "free"):
        table.add_column(column, justify="right")
    for line in lines:
        table.add_row(
            # Text, not str: a feed's ids and titles are shown as written, never as markup.
            Text(_shown(line.product_id)),
            Text(_shown(line.title)),
            "unknown" if line.stock is None else str(line.stock),
            str(line.held),
            "-" if line.free is None else str(line.free),
        )
    console.print(table)
