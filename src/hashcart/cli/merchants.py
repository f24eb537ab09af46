"""Merchant accounts: who may sign in to the console at /merchant."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, fail, print_json

merchants_app = typer.Typer(help="Merchant accounts for the web console.", no_args_is_help=True)
app.add_typer(merchants_app, name="merchants")


def _password(from_stdin: bool) -> str:
    """The new password: the first line of standard input for scripts, else asked twice
    without echo (so it never lands in the shell's history or the process list)."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@merchants_app.command("add")
def merchants_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The merchant's email address (their sign-in).")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
) -> None:
    """Add a merchant, or set a new password for one that exists."""
    from email_validator import EmailNotValidError, validate_email

    from hashcart.store import accounts
    from hashcart.web.passwords import hash_password, password_problem

    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        fail(f"not an email address: {email!r}")
    password = _password(password_stdin)
    problem = password_problem(password)
    if problem is not None:
        fail(f"password refused: {problem}")
    hashcart = app_of(ctx)
    with hashcart.unit_of_work() as uow:
        connection = uow.connection
        added = accounts.add_merchant(
            connection, address, hash_password(password), hashcart.clock.now()
        )
    state = "merchant added" if added else "merchant exists, password changed"
    console.print(f"{state}: {address}", markup=False)


@merchants_app.command("list")
def merchants_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Show who may sign in to the console."""
    from hashcart.views.console import merchants

    with app_of(ctx).engine.connect() as connection:
        found = merchants(connection)
    if as_json:
        print_json(
            [
                {
                    "email": merchant.email,
                    "created_at": merchant.created_at.isoformat() if merchant.created_at else None,
                }
                for merchant in found
            ]
        )
        return
    if not found:
        console.print("no merchants yet: add one with `hashcart merchants add EMAIL`", markup=False)
        return
    table = Table(title="merchants")
    table.add_column("email", no_wrap=True)
    table.add_column("since", no_wrap=True)
    for merchant in found:
        since = merchant.created_at.strftime("%Y-%m-%d %H:%M UTC") if merchant.created_at else ""
        table.add_row(merchant.email, since)
    console.print(table)
