"""The `hashcart` command line (Typer + Rich). Scripts rely on its names and JSON shapes.

This module holds the app and what every command shares; the commands live in the
modules beside it, one group each, and register themselves on import (see the bottom).
"""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import msgspec
import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from hashcart.bootstrap import App, open_app
from hashcart.config import ConfigFileError, Settings, load_settings
from hashcart.store.database import DatabaseURLError

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


class UsageProblem(Exception):
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


def settings_of(ctx: typer.Context) -> Settings:
    options = ctx.find_root().obj or {}
    try:
        return load_settings(options.get("config"), database_url=options.get("db"))
    except ConfigFileError as error:
        fail(str(error))
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        fail(f"invalid settings: {error}")


def app_of(ctx: typer.Context) -> App:
    try:
        return open_app(settings_of(ctx))
    except DatabaseURLError as error:
        fail(str(error))


def print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def main() -> None:
    """Entry point: usage problems print one line and exit 2, never a traceback."""
    # What is imported by now (about 100,000 objects: the web stack, SQLAlchemy, pydantic)
    # lives as long as the process. Freezing it keeps the collector's full passes from
    # rescanning it all the time while ingest allocates: +4-6% posts/s on X-shaped posts
    # (hashcart bench, same run, docs/benchmarks.md).
    gc.freeze()
    try:
        app()
    except UsageProblem as problem:
        errors.print(f"hashcart: error: {problem}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except OperationalError as problem:  # the database is unreachable, locked or unwritable
        errors.print(
            f"hashcart: error: database: {problem.orig}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


# The commands register themselves on `app` when imported, in this order (the order of
# `hashcart --help`: set-up first, then the daily commands, then demo and bench).
for _group in (
    "setup",
    "merchants",
    "ingest",
    "reports",
    "demo",
    "bench",
    "serve",
    "live",
    "tokens",
):
    importlib.import_module(f"hashcart.cli.{_group}")
