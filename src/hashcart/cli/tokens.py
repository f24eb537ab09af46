"""Merchant API tokens: make one (shown once), list them, revoke one."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hashcart.cli import app, console, errors, fail, open_with, print_json, settings_of

if TYPE_CHECKING:
    from hashcart.bootstrap import App

tokens_app = typer.Typer(
    help="Merchant API tokens (`Authorization: Bearer <token>` on /api).", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")


# The demo's database (cli/demo.DEMO_DATABASE, not imported: it would bring the demo along).
DEMO_DATABASE = "hashcart-demo.db"


def existing_shop(ctx: typer.Context) -> App:
    """The app on the shop's database, refused when that database does not exist yet: a
    token made in a new, empty file would authenticate nowhere (run beside `make demo`,
    `tokens create` used to make ./hashcart.db while the demo served hashcart-demo.db)."""
    from hashcart.store.database import missing_sqlite_file

    settings = settings_of(ctx)
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        hint = ""
        if Path(DEMO_DATABASE).exists() and missing.resolve() != Path(DEMO_DATABASE).resolve():
            hint = f"; the demo's database here is --db sqlite:///{Path(DEMO_DATABASE).resolve()}"
        fail(
            f"no database at {missing} ({settings.database_url}): tokens are kept in the "
            "shop's database, and this command does not create one. Point it at the shop's "
            f"with --db URL or HASHCART_DATABASE_URL{hint}"
        )
    return open_with(settings)


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="What the token is for, e.g. 'reporting'; without one, the time it was made."
        ),
    ] = None,
) -> None:
    """Make a token and print it on stdout. Only its hash is kept: it is shown this once."""
    from hashcart.web.tokens import TokenNameError, create_api_token, token_label

    try:
        token_label(name, datetime.min)  # a bad name is refused before the database is opened
    except TokenNameError as error:
        fail(str(error))
    hashcart = existing_shop(ctx)
    now = hashcart.clock.now()
    label = token_label(name, now)
    with hashcart.unit_of_work() as uow:
        token_id, token = create_api_token(uow.connection, label, now)
    sys.stdout.write(token + "\n")
    errors.print(
        f"token {token_id} ({label}) made; keep it now: it cannot be shown again.",
        markup=False,
        highlight=False,
    )


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List tokens (never the tokens themselves): name, made, last used, revoked."""
    from hashcart.store import api_tokens

    with existing_shop(ctx).engine.connect() as connection:
        found = api_tokens.list_tokens(connection)
    rows = [
        {
            "id": token.id,
            "name": token.name,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            "active": token.active,
        }
        for token in found
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "created", "last used", "revoked"):
        table.add_column(column, overflow="fold")
    for token in found:
        table.add_row(
            str(token.id),
            token.name,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The id `tokens list` shows.")],
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    from hashcart.store import api_tokens

    hashcart = existing_shop(ctx)
    with hashcart.unit_of_work() as uow:
        connection = uow.connection
        if api_tokens.find_token(connection, token_id) is None:
            fail(f"no API token with id {token_id}")
        revoked = api_tokens.revoke_token(connection, token_id, hashcart.clock.now())
    console.print(f"token {token_id} {'revoked' if revoked else 'was already revoked'}")
