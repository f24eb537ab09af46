"""`hashcart serve`: the shop, the account pages, the merchant console and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import app, fail, open_with, settings_of, start_logging
from hashcart.cli.webserver import HostOption, PortOption, ensure_can_listen, serve_web

if TYPE_CHECKING:
    from hashcart.bootstrap import App


@app.command()
def serve(
    ctx: typer.Context,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    listen: Annotated[
        bool,
        typer.Option(
            "--listen/--no-listen",
            help="Run the listeners the settings name (listeners = [...]) beside the web app.",
        ),
    ] = True,
    dispatch: Annotated[
        bool,
        typer.Option(
            "--dispatch/--no-dispatch",
            help="Send the outbox (replies, private messages, email) beside the web app.",
        ),
    ] = True,
    web_processes: Annotated[
        int | None,
        typer.Option(
            "--web-processes",
            min=1,
            max=64,
            help="Web processes sharing the port (default: the web_processes setting, 1); "
            "what runs beside them runs once. More than 1 needs PostgreSQL.",
        ),
    ] = None,
) -> None:
    """Serve the web shop and merchant console (loopback by default).

    The live networks' listeners and the outbox's dispatcher run beside them, unless
    --no-listen / --no-dispatch say otherwise; so does the payment sweep, which asks the
    gateways again for captures and voids they refused (`hashcart payments retry`), and,
    with a store of the merchant's own, the catalog sync every store_sync_minutes; and the
    catalog's new pictures are fetched one at a time (`hashcart catalog images`).

    With --web-processes N (PostgreSQL only) N processes serve the pages on the one port
    and all of the above runs once, in this process (cli/web_processes.py)."""
    from hashcart.live import BackgroundServices
    from hashcart.metrics import serve_metrics
    from hashcart.services.payment_steps import PaymentSweep
    from hashcart.services.sales import SettleTimer
    from hashcart.services.saved_cards import settle_cleanups
    from hashcart.views.funnel_keeping import FunnelKeeper

    ensure_can_listen(host, port)
    settings = settings_of(ctx, start=True)
    processes = web_processes or settings.web_processes
    if processes > 1 and settings.database_url.startswith("sqlite"):
        # SQLite lets one writer in at a time (BEGIN IMMEDIATE, busy timeout: store/database),
        # so more processes add writers that wait; several web processes are made and
        # tested for PostgreSQL (tests/integration/test_serve_web_processes.py).
        fail(
            f"{processes} web processes need PostgreSQL: a SQLite database has one writer "
            "(use --web-processes 1, or a postgresql:// database_url)"
        )
    hashcart = open_with(settings)
    start_logging(hashcart)
    serve_metrics(hashcart.settings.metrics_port)  # Prometheus (README, Run at scale)
    background = BackgroundServices(hashcart, listen=listen, dispatch=dispatch)
    background.start()
    # Captures and voids a gateway refused or left unanswered are asked again (the same
    # sweep as `hashcart payments retry`), and so are removed cards' detachments and deleted
    # shoppers' provider customers.
    cleaners = hashcart.provider_cleaners().get
    # The merchant's own store (issue 16): its catalog synced and its orders collected every
    # store_sync_minutes, on the same beat.
    sync_store = _store_sync(hashcart)
    # Buys with a post confirmed but not paid for yet (a gateway that did not answer) are
    # asked again on the same beat, and buys not confirmed in time expire; cart reminders
    # that are due are queued (issue 14).
    sweep = PaymentSweep(
        hashcart.unit_of_work,
        hashcart.clock,
        hashcart.payment_gateways().get,
        also=lambda now: (
            settle_cleanups(hashcart.unit_of_work, cleaners, now),
            hashcart.settle_buys(),
            sync_store(),
            hashcart.send_reminders(),
        ),
    )
    sweep.start()
    # Live sales (issue 13): claims past their settle window, holds that ran out.
    sales = SettleTimer(hashcart.unit_of_work, hashcart.shop, hashcart.clock)
    sales.start()
    # The catalog's new pictures, one at a time (issue 14): an imported feed's pictures show
    # on the product pages without `hashcart catalog images`.
    pictures = hashcart.start_picture_fetch()
    # The funnel's kept figures (issue 14): recounted as the shop changes, not only when a
    # console page is read.
    funnel = FunnelKeeper(hashcart.engine, hashcart.clock)
    funnel.start()
    try:
        serve_web(
            hashcart,
            host,
            port,
            also=[
                *background.describe(),
                sweep.describe(),
                sales.describe(),
                pictures.describe(),
                funnel.describe(),
            ],
            processes=processes,
        )
    finally:
        funnel.stop()
        pictures.stop()
        sales.stop()
        sweep.stop()
        background.stop()


def _store_sync(hashcart: App) -> Callable[[], object]:
    """What the sweep's beat runs for the merchant's own store: nothing with the built-in
    shop; a store whose settings are missing fails the command at once (exit 2)."""
    from hashcart.services.store_sync import sync_if_due
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    try:
        store = hashcart.external_store()
    except (StoreNotConfigured, UnknownStore) as error:
        fail(f"invalid settings: {error}")
    if store is None:
        return lambda: None
    minutes = hashcart.settings.store_sync_minutes
    changes = hashcart.store_changes()
    return lambda: sync_if_due(hashcart.unit_of_work, store, hashcart.clock, minutes, changes)
