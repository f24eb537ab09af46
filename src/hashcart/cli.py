"""The `hashcart` command line (Typer + Rich). Scripts rely on its names and JSON shapes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from rich.table import Table

from hashcart.bootstrap import App, open_app
from hashcart.config import ConfigFileError, Settings, load_settings
from hashcart.domain.posts import Network
from hashcart.networks.formats import Format
from hashcart.services.catalog import FeedError, FeedRow, RowProblem, read_feed
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.linking import LinkError, link_account
from hashcart.sources import read_blocks
from hashcart.store import queries
from hashcart.store.database import DatabaseURLError, upgrade
from hashcart.store.repository import transaction

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


# set-up --------------------------------------------------------------------------------------


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database (Alembic migrations)."""
    current = open_app(settings_of(ctx), migrate=False)
    upgrade(current.engine)
    console.print(f"database ready: {current.settings.database_url}")


@catalog_app.command("import")
def catalog_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/TSV or JSON Lines feed (Google Merchant Center "
            "names: id, title, link, price, availability)."
        ),
    ],
) -> None:
    """Import or update products from a feed; bad rows are reported and skipped."""
    if not file.is_file():
        fail(f"no such file: {file}")
    hashcart = app_of(ctx)
    try:
        parsed = list(read_feed(file.read_bytes()))
    except FeedError as error:
        fail(f"{file}: {error}")
    rows = [row for row in parsed if isinstance(row, FeedRow)]
    problems = [row for row in parsed if isinstance(row, RowProblem)]
    now = hashcart.clock.now()
    with transaction(hashcart.engine) as repo:
        imported = repo.upsert_products(row.as_values(now) for row in rows)
    for problem in problems:
        errors.print(f"{file}:{problem.line}: skipped: {problem.reason}", markup=False)
    console.print(
        f"imported {imported} products" + (f", skipped {len(problems)} rows" if problems else "")
    )


@customers_app.command("add")
def customers_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The customer's email address.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Add a customer (a shop account)."""
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        fail(f"not an email address: {email!r}")
    hashcart = app_of(ctx)
    with transaction(hashcart.engine) as repo:
        added = repo.add_customer(email.strip().lower(), name, hashcart.clock.now())
    console.print(f"customer {'added' if added else 'already exists'}: {email}", markup=False)


@links_app.command("add")
def links_add(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="The customer's email.")],
    network: Annotated[Network, typer.Option("--network", help="x, mastodon or bluesky.")],
    account: Annotated[
        str,
        typer.Option(
            "--account", help="The stable account id: X user id, Mastodon account URI, Bluesky DID."
        ),
    ],
    handle: Annotated[str | None, typer.Option("--handle", help="The account's handle.")] = None,
) -> None:
    """Link a social account to a customer; waiting requests from it are applied now."""
    hashcart = app_of(ctx)
    shop = hashcart.shop()
    try:
        with transaction(hashcart.engine) as repo:
            result = link_account(
                repo, shop, customer.strip().lower(), network, account, handle, hashcart.clock.now()
            )
    except LinkError as error:
        fail(str(error))
    state = "linked" if result.created else "already linked"
    console.print(
        f"{state}: {network} {account} → {customer}; applied {result.applied} "
        f"waiting requests, {result.expired} had expired",
        markup=False,
    )


# ingest --------------------------------------------------------------------------------------


@contextmanager
def open_source(name: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    with path.open("rb") as stream:
        yield stream, path.stat().st_size


@app.command()
def ingest(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(help="Files of payloads, one JSON per line; '-' reads standard input."),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", help="Payload format; auto detects per line.")
    ] = Format.AUTO,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any line was dead-lettered.")
    ] = False,
    validate_all: Annotated[
        bool,
        typer.Option(
            "--validate-all",
            help="Parse every line as JSON, not only the lines that may matter (slower).",
        ),
    ] = False,
) -> None:
    """Turn trigger replies in the given payload files into cart lines and queued messages."""
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        fail("no such file: " + ", ".join(missing))
    hashcart = app_of(ctx)
    ingestor = Ingestor(
        hashcart.engine,
        hashcart.shop(),
        hashcart.clock,
        fmt=fmt,
        batch_size=hashcart.settings.ingest_batch_size,
        validate_all=validate_all or hashcart.settings.validate_every_line,
    )
    started = time.perf_counter()
    run_ingest(ingestor, files)
    elapsed = time.perf_counter() - started
    show_summary(ingestor.stats, elapsed)
    if strict and ingestor.stats.dead_letters:
        raise typer.Exit(1)


def run_ingest(ingestor: Ingestor, files: list[str]) -> None:
    show_progress = errors.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not show_progress,
    ) as progress:
        for name in files:
            with open_source(name) as (stream, size):
                task = progress.add_task(name if name != "-" else "stdin", total=size)

                def advance(done: int, task: Any = task) -> None:
                    progress.update(task, completed=done)

                ingestor.ingest_blocks(
                    name, read_blocks(stream), progress=advance if show_progress else None
                )


def show_summary(stats: IngestStats, elapsed: float | None) -> None:
    table = Table(title="ingest summary", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in [
        ("posts read", stats.posts),
        ("triggers", stats.triggers),
        ("lines added", stats.actions.lines_added),
        ("pending", stats.actions.pending),
        ("messages queued", stats.actions.messages),
        ("skipped", stats.skipped),
        ("dead-lettered", stats.dead_letters),
        ("waiting for parent", stats.waiting_for_parent),
        ("no shop product", stats.actions.no_product),
        ("duplicates", stats.duplicates),
    ]:
        table.add_row(label, f"{value:,}")
    if elapsed is not None:
        rate = stats.lines / elapsed if elapsed > 0 else 0.0
        table.add_row("posts per second", f"{rate:,.0f}")
    console.print(table)


# read-side -----------------------------------------------------------------------------------


def _print_lists(title: str, lists: list[dict[str, Any]], as_json: bool) -> None:
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
    hashcart = app_of(ctx)
    with hashcart.engine.connect() as connection:
        email = customer.strip().lower() if customer else None
        if email is not None and not queries.customer_exists(connection, email):
            fail(f"no customer with email {customer!r}")
        _print_lists("carts", queries.carts(connection, email), as_json)


@app.command()
def wishlists(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show wish lists."""
    with app_of(ctx).engine.connect() as connection:
        _print_lists("wish lists", queries.wishlists(connection), as_json)


def _print_rows(title: str, rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
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
    with app_of(ctx).engine.connect() as connection:
        _print_rows(
            "pending intents",
            queries.pending(connection),
            ["network", "handle", "list", "title", "quantity", "expires_at", "status"],
            as_json,
        )


@app.command()
def outbox(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show messages queued for shoppers."""
    with app_of(ctx).engine.connect() as connection:
        _print_rows(
            "outbox",
            queries.outbox(connection),
            ["network", "in_reply_to", "reason", "text"],
            as_json,
        )


@app.command()
def deadletters(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show input lines that could not be read, with the reason."""
    with app_of(ctx).engine.connect() as connection:
        _print_rows(
            "dead letters", queries.dead_letters(connection), ["source", "line", "reason"], as_json
        )


# demo ----------------------------------------------------------------------------------------

DEMO_DATABASE = Path("hashcart-demo.db")
DEMO_SHOP_NAME = "Trailhead Coffee"


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", help="Varies the generated stream.")] = 7,
) -> None:
    """Run hashcart on a demo shop: a fresh local database, a mixed X/Mastodon/Bluesky stream."""
    from hashcart.demo import run_demo

    options = ctx.find_root().obj or {}
    chosen = options.get("db") or os.environ.get("HASHCART_DATABASE_URL")
    if not chosen:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        options["db"] = f"sqlite:///{DEMO_DATABASE}"
    hashcart = app_of(ctx)
    if "shop_name" not in hashcart.settings.model_fields_set:
        hashcart.settings = hashcart.settings.model_copy(update={"shop_name": DEMO_SHOP_NAME})
    console.rule("[bold]hashcart demo")
    console.print(f"database: {hashcart.settings.database_url}", markup=False)

    def ingest_with_progress(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} posts"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(name, total=len(lines))
            chunk = 25
            for start in range(0, len(lines), chunk):
                ingestor.ingest_lines(name, lines[start : start + chunk])
                progress.update(task, completed=min(start + chunk, len(lines)))

    run = run_demo(hashcart, ingest_with_progress, seed=seed)
    assert run.late_link is not None
    console.print(
        f"{run.products} products, {run.shoppers} shoppers; {run.late_shopper} linked "
        f"halfway: {run.late_link.applied} waiting requests applied",
        markup=False,
    )
    show_summary(run.first + run.second, None)
    with hashcart.engine.connect() as connection:
        _print_lists("carts", queries.carts(connection), as_json=False)
        _print_lists("wish lists", queries.wishlists(connection), as_json=False)
        _print_rows(
            "queued messages",
            queries.outbox(connection),
            ["network", "reason", "text"],
            as_json=False,
        )
    console.print(
        "Explore it: hashcart --db sqlite:///hashcart-demo.db carts | outbox | pending "
        "| deadletters",
        markup=False,
    )


# bench ---------------------------------------------------------------------------------------


@app.command()
def bench(
    posts: Annotated[int, typer.Option("--posts", min=1000, help="Posts per shape.")] = 200_000,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per shape (median).")] = 3,
    shapes: Annotated[
        list[str] | None,
        typer.Option(
            "--shape", help="x, mastodon or jetstream; repeat for several (default: all)."
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where the generated files and databases go (default: a temp dir)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Posts per second from file to committed cart lines, beside json.loads on every line."""
    import platform
    import tempfile

    from hashcart.bench import SHAPE_NETWORK, ShapeResult, run_bench

    chosen = shapes or list(SHAPE_NETWORK)
    unknown = [shape for shape in chosen if shape not in SHAPE_NETWORK]
    if unknown:
        fail(f"unknown shape {unknown[0]!r}: use x, mastodon or jetstream")
    table = Table(
        title=f"hashcart bench: {posts:,} posts per shape, median of {runs} "
        f"({platform.python_implementation()} {platform.python_version()})"
    )
    for column in (
        "shape",
        "bytes/post",
        "read only",
        "json.loads all",
        "hashcart",
        "vs json.loads",
        "--validate-all",
        "triggers",
        "lines added",
    ):
        table.add_column(column, justify="right")

    def report(result: ShapeResult) -> None:
        if not as_json:
            errors.print(f"{result.shape}: {result.hashcart:,.0f} posts/s", markup=False)

    with tempfile.TemporaryDirectory(prefix="hashcart-bench-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        results = run_bench(chosen, posts, runs, folder, report)  # type: ignore[arg-type]
    if as_json:
        print_json([{**vars(r), "speedup": r.speedup} for r in results])
        return
    for r in results:
        table.add_row(
            r.shape,
            f"{r.mean_bytes:,.0f}",
            f"{r.floor:,.0f}/s",
            f"{r.json_loads:,.0f}/s",
            f"{r.hashcart:,.0f}/s",
            f"{r.speedup:.1f}×",
            f"{r.hashcart_validate_all:,.0f}/s",
            f"{r.triggers:,}",
            f"{r.lines_added:,}",
        )
    # Wide enough for every column even when printed to a file (where Rich assumes 80).
    Console(width=max(console.width, 150)).print(table)


def main() -> None:
    """Entry point: usage problems print one line and exit 2, never a traceback."""
    try:
        app()
    except UsageProblem as problem:
        errors.print(f"hashcart: error: {problem}", markup=False, highlight=False)
        sys.exit(2)
