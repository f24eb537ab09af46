"""The `hashcart` command line (Typer + Rich). Scripts rely on its names and JSON shapes.

This module holds the app and what every command shares; the commands live in the
modules beside it, one group each, and register themselves on import (see the bottom).

Start-up is part of every command's cost (`hashcart ingest` of an empty file, `carts
--json` in a script): this package and the command modules import only Typer, Rich and
what their options need; each command imports the engine, the web stack or a network's
client inside its body, when it runs (docs/benchmarks.md, "Start-up").
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hashcart.bootstrap import App
    from hashcart.config import Settings

app = typer.Typer(
    help="hashcart: social replies become shopping carts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
catalog_app = typer.Typer(help="The shop's products.", no_args_is_help=True)
customers_app = typer.Typer(help="The shop's customers.", no_args_is_help=True)
links_app = typer.Typer(help="Social accounts linked to customers.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(customers_app, name="customers")
app.add_typer(links_app, name="links")

console = Console()
errors = Console(stderr=True)


class UsageProblem(HashcartError):
    """A mistake in how hashcart was called or what it was given: one line, exit 2."""


def fail(message: str) -> NoReturn:
    raise UsageProblem(message)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (also HASHCART_CONFIG).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (also HASHCART_DATABASE_URL); default sqlite:///hashcart.db."
        ),
    ] = None,
) -> None:
    ctx.obj = {"config": config, "db": db}


def settings_of(ctx: typer.Context, *, start: bool = False) -> Settings:
    """The settings; without a `token_key`, the key kept in its file (secretbox), which a
    `start` (serve, listen, dispatch) makes when there is none yet."""
    from hashcart.config import ConfigFileError, load_settings
    from hashcart.secretbox import with_token_key

    options = ctx.find_root().obj or {}
    try:
        settings = load_settings(options.get("config"), database_url=options.get("db"))
    except ConfigFileError as error:
        fail(str(error))
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        fail(f"invalid settings: {error}")
    named = options.get("config") or os.environ.get("HASHCART_CONFIG")
    return with_token_key(settings, Path(named) if named else None, create=start)


def app_of(ctx: typer.Context, *, start: bool = False) -> App:
    return open_with(settings_of(ctx, start=start))


def open_with(settings: Settings) -> App:
    """The app on `settings`' database, its schema brought up to date; an unsupported
    database URL is a usage problem."""
    from hashcart.bootstrap import open_app
    from hashcart.networks.registry import UnknownListeners
    from hashcart.store.database import DatabaseURLError

    try:
        return open_app(settings)
    except DatabaseURLError as error:
        fail(str(error))
    except UnknownListeners as error:  # the settings' listeners, as the registry knows them
        fail(f"invalid settings: {error}")


def start_logging(hashcart: App) -> None:
    """A long-running command's log lines (reconnects, failures, rate-limit holds, uvicorn's
    own) on standard error, in the settings' `log_format` from their `log_level`."""
    from hashcart.logs import configure_logging

    configure_logging(hashcart.settings.log_format, hashcart.settings.log_level)


def freeze_imports() -> None:
    """Move what is imported by now out of the collector's generations; call it once a
    command has imported what it runs on (the engine, SQLAlchemy, pydantic: about 100,000
    objects that live as long as the process). Otherwise the collector's full passes rescan
    them all the time while ingest allocates: +4-6% posts/s on X-shaped posts (hashcart
    bench, same run, docs/benchmarks.md)."""
    gc.freeze()


def print_json(value: Any) -> None:
    import msgspec

    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: usage problems print one line and exit 2, never a traceback; any other
    error hashcart raises (HashcartError) or an unusable database prints one line, exit 1.
    Always ends in SystemExit with the exit code.

    `argv` (default: the process's arguments) lets the tests run a command inside their own
    process through this same path, errors and exit codes included (tests/cli_runner.py)."""
    try:
        app(
            args=None if argv is None else list(argv),
            prog_name=None if argv is None else "hashcart",
        )
    except UsageProblem as problem:
        errors.print(f"hashcart: error: {problem}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except HashcartError as problem:  # refused or failed, and says why: a line, not a traceback
        errors.print(f"hashcart: error: {problem}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as problem:
        reason = _database_unusable(problem)
        if reason is None:
            raise
        errors.print(
            f"hashcart: error: database: {reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


def _database_unusable(problem: Exception) -> str | None:
    """The driver's reason when `problem` says the database is unreachable, locked or
    unwritable, else None. Only a command that used the database has imported SQLAlchemy,
    and only such a command can raise its errors: the others are not made to import it."""
    exceptions = sys.modules.get("sqlalchemy.exc")
    if exceptions is not None and isinstance(problem, exceptions.OperationalError):
        return str(problem.orig)
    return None


# The commands register themselves on `app` when imported, in this order (the order of
# `hashcart --help`: set-up first, then the daily commands, then demo and bench).
for _group in (
    "setup",
    "images",
    "stock",
    "merchants",
    "ingest",
    "reports",
    "orders",
    "demo",
    "bench",
    "serve",
    "live",
    "tokens",
    "x",
    "payments",
    "payment_methods",
    "bus",
    # --- offers by hashtag (issue 12) ---
    "offers",
    # --- the merchant's own store (issue 16) ---
    "store",
    # --- live sales (issue 13) ---
    "sales",
    # --- a reminder of a waiting cart (issue 14) ---
    "reminders",
):
    importlib.import_module(f"hashcart.cli.{_group}")
