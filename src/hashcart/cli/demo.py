"""`hashcart demo`: the whole engine on a demo shop, with nothing set up."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hashcart.cli import app, app_of, console, freeze_imports, start_logging
from hashcart.cli.ingest import show_summary
from hashcart.cli.reports import print_lists, print_rows
from hashcart.cli.webserver import (
    HostOption,
    PortOption,
    base_url,
    ensure_can_listen,
    serve_web,
)

if TYPE_CHECKING:
    from hashcart.bootstrap import App
    from hashcart.demo import DemoSignIn
    from hashcart.demo_offer import DemoOffer
    from hashcart.demo_sale import DemoSale
    from hashcart.services.ingest import Ingestor

DEMO_DATABASE = Path("hashcart-demo.db")
DEMO_SHOP_NAME = "Trailhead Coffee"
# Seconds between the live demo's beats: hashcart.live_demo.DEFAULT_INTERVAL, which is not
# imported here because it brings the engine with it (a test keeps the two equal).
DEFAULT_INTERVAL = 0.75


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", help="Varies the generated stream.")] = 7,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the demo with its stream running live.")
    ] = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.05, help="With --serve: seconds between live posts."),
    ] = DEFAULT_INTERVAL,
) -> None:
    """Run hashcart on a demo shop: a fresh local database, a mixed X/Mastodon/Bluesky stream.

    With --serve, also serve it on http://127.0.0.1:8000 while new posts keep arriving."""
    from hashcart.demo import add_demo_sign_ins, run_demo
    from hashcart.views import queries

    if serve:
        ensure_can_listen(host, port)
    options = ctx.find_root().obj or {}
    chosen = options.get("db") or os.environ.get("HASHCART_DATABASE_URL")
    if not chosen:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        # Absolute, so the commands it prints work from any folder.
        options["db"] = f"sqlite:///{DEMO_DATABASE.resolve()}"
    hashcart = app_of(ctx)
    if "shop_name" not in hashcart.settings.model_fields_set:
        hashcart.settings = hashcart.settings.model_copy(update={"shop_name": DEMO_SHOP_NAME})
    if serve and "public_url" not in hashcart.settings.model_fields_set:
        # Replies tell shoppers where their account page is: where this demo is served.
        hashcart.settings = hashcart.settings.model_copy(
            update={"public_url": base_url(host, port)}
        )
    freeze_imports()
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
    if run.bought is not None and run.bought.order_id is not None:
        console.print(
            f"Bought with a post: {run.bought.email} replied #buy under the brand's post, then "
            f"#confirm {run.bought.code}; the saved test card paid for order "
            f"#{run.bought.order_id}.",
            markup=False,
        )
    if run.offer is not None:
        show_offer(run.offer)
    if run.sale is not None:
        show_sale(run.sale)
    if not serve:
        with hashcart.engine.connect() as connection:
            print_lists("carts", queries.carts(connection), as_json=False)
            print_lists("wish lists", queries.wishlists(connection), as_json=False)
            print_rows(
                "queued messages",
                queries.outbox(connection),
                ["network", "reason", "text"],
                as_json=False,
            )
    show_sign_ins(add_demo_sign_ins(hashcart), base_url(host, port) if serve else "")
    show_database(hashcart.settings.database_url)
    if not serve:
        db = shlex.quote(hashcart.settings.database_url)
        console.print(
            f"Explore it: hashcart --db {db} carts | outbox | pending "
            "| deadletters, or serve it live: hashcart demo --serve",
            markup=False,
        )
        return
    serve_live(hashcart, host, port, interval)


def show_offer(offer: DemoOffer) -> None:
    """The demo's offer by hashtag: who loaded it, and their checkout with it applied."""
    if not offer.loaded or offer.currency is None:
        console.print(f"offer #{offer.tag}: not loaded by {offer.shopper}", markup=False)
        return
    console.print(
        f"offer #{offer.tag} (10% off) loaded by {offer.shopper} posting its tag; at checkout "
        f"her cart of {offer.subtotal:.2f} {offer.currency} comes to "
        f"{offer.to_pay:.2f} {offer.currency} ({offer.discount:.2f} off)",
        markup=False,
        highlight=False,
    )


def show_sale(sale: DemoSale) -> None:
    """The demo's live sale: its claims' outcomes and the invoice one winner paid."""
    paid = (
        f"{sale.payer} paid invoice #{sale.invoice_id} with a saved test card: order "
        f"#{sale.order_id}"
        if sale.order_id is not None
        else "no invoice was paid"
    )
    console.print(
        f"live sale {sale.name!r} on {' and '.join(sale.networks)}: {sale.claims} claims, "
        f"{sale.won} won, {sale.waitlisted} waitlisted; {paid} "
        f"(hashcart sales show {shlex.quote(sale.name)})",
        markup=False,
        highlight=False,
    )


def show_sign_ins(sign_ins: list[DemoSignIn], base: str = "") -> None:
    """One line each, so no terminal width cuts an address short."""
    console.rule("[bold]demo sign-ins")
    passwords = {sign_in.password for sign_in in sign_ins}
    if len(passwords) == 1:
        console.print(f"password for every demo sign-in: {passwords.pop()}", markup=False)
    for sign_in in sign_ins:
        if sign_in.role == "merchant":
            line = f"  merchant  {sign_in.email}  (sign in at {base}/merchant/sign-in)"
        else:
            line = f"  shopper   {sign_in.email}  ({sign_in.name}; sign in at {base}/sign-in)"
        console.print(line, markup=False, highlight=False, overflow="ignore", crop=False)


def show_database(url: str) -> None:
    """Which database the demo is, and how to point other commands at it: without --db,
    `hashcart tokens create` beside the demo would look for ./hashcart.db instead."""
    console.rule("[bold]commands on this demo")
    db = shlex.quote(url)
    console.print(f"database: {url}", markup=False, highlight=False, crop=False)
    lines = (
        f"  hashcart --db {db} tokens create        # an API token for this demo's /api",
        f"  export HASHCART_DATABASE_URL={db}        # or point every command at it",
    )
    for line in lines:
        console.print(line, markup=False, highlight=False, overflow="ignore", crop=False)


def serve_live(hashcart: App, host: str, port: int, interval: float) -> None:
    """Serve the demo while a background thread keeps its stream flowing; Ctrl-C stops both."""
    from hashcart.live_demo import LiveDemo, LiveFeeder

    console.rule("[bold]live")
    console.print(
        f"New posts arrive every {interval:g} s: watch carts fill on the shop front and the "
        "funnel move in the merchant console.",
        markup=False,
    )
    start_logging(hashcart)
    live = LiveDemo(LiveFeeder(hashcart), interval)
    live.start()
    try:
        serve_web(hashcart, host, port, access_log=False, demo=True)
    finally:
        live.stop()
        totals = live.feeder.totals
        console.print(
            f"Stopped. The live stream added {totals.posts} posts and {totals.lines_added} cart "
            f"and wish-list lines; {totals.linked} new shoppers linked; {totals.bought} "
            "bought with a post.",
            markup=False,
        )
