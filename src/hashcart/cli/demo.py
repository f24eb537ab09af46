"""`hashcart demo`: the whole engine on a demo shop, with nothing set up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hashcart.cli import app, app_of, console
from hashcart.cli.ingest import show_summary
from hashcart.cli.reports import print_lists, print_rows
from hashcart.services.ingest import Ingestor
from hashcart.store import queries

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
        print_lists("carts", queries.carts(connection), as_json=False)
        print_lists("wish lists", queries.wishlists(connection), as_json=False)
        print_rows(
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
