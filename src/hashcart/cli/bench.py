"""`hashcart bench`: measured throughput per network shape, beside same-run baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hashcart.cli import app, console, errors, fail, freeze_imports, print_json


@app.command()
def bench(
    posts: Annotated[int, typer.Option("--posts", min=1000, help="Posts per shape.")] = 200_000,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per shape (median).")] = 3,
    shapes: Annotated[
        list[str] | None,
        typer.Option(
            "--shape",
            help="x, mastodon or jetstream; repeat for several (default: all). `pages`: "
            "the console's pages and the API's lists on a generated shop of --posts posts.",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where the generated files and databases go (default: a temp dir)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
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
) -> None:
    """Posts per second from file to committed cart lines, beside json.loads on every line;
    with --shape pages, p50/p99 of every console page and API list on a big shop."""
    import platform
    import tempfile

    from hashcart.bench import SHAPE_NETWORK, ShapeResult, run_bench

    freeze_imports()

    chosen = shapes or list(SHAPE_NETWORK)
    if "pages" in chosen:
        if len(chosen) > 1:
            fail("--shape pages runs on its own: leave out the other shapes")
        _pages(posts, requests, workdir, database, as_json)
        return
    unknown = [shape for shape in chosen if shape not in SHAPE_NETWORK]
    if unknown:
        fail(f"unknown shape {unknown[0]!r}: use x, mastodon, jetstream or pages")
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


def _pages(
    posts: int, requests: int, workdir: Path | None, database: str | None, as_json: bool
) -> None:
    import tempfile

    from hashcart.synthetic.pages import CLIENTS, run_pages_bench

    def report(line: str) -> None:
        if not as_json:
            errors.print(line, markup=False)

    with tempfile.TemporaryDirectory(prefix="hashcart-pages-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        results = run_pages_bench(posts, requests, folder, report, database)
    if as_json:
        print_json([vars(result) for result in results])
        return
    table = Table(title=f"hashcart bench --shape pages: {posts:,} posts, {CLIENTS} clients at once")
    for column in ("route", "requests", "p50", "p99", "bytes", "status"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for r in results:
        table.add_row(
            r.route,
            f"{r.requests}",
            f"{r.p50_ms:,.0f} ms",
            f"{r.p99_ms:,.0f} ms",
            f"{r.bytes:,}",
            f"{r.status}",
        )
    Console(width=max(console.width, 150)).print(table)
