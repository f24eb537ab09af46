"""`hashcart serve`: the shop, the account pages, the merchant console and the API."""

from __future__ import annotations

from typing import Annotated

import typer

from hashcart.cli import app, app_of, start_logging
from hashcart.cli.webserver import HostOption, PortOption, ensure_can_listen, serve_web


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
) -> None:
    """Serve the web shop and merchant console (loopback by default).

    The live networks' listeners and the outbox's dispatcher run beside them, unless
    --no-listen / --no-dispatch say otherwise; so does the payment sweep, which asks the
    gateways again for captures and voids they refused (`hashcart payments retry`)."""
    from hashcart.live import BackgroundServices
    from hashcart.metrics import serve_metrics
    from hashcart.services.payment_steps import PaymentSweep
    from hashcart.services.saved_cards import settle_cleanups

    ensure_can_listen(host, port)
    hashcart = app_of(ctx)
    start_logging(hashcart)
    serve_metrics(hashcart.settings.metrics_port)  # Prometheus (README, Run at scale)
    background = BackgroundServices(hashcart, listen=listen, dispatch=dispatch)
    background.start()
    # Captures and voids a gateway refused or left unanswered are asked again (the same
    # sweep as `hashcart payments retry`), and so are removed cards' detachments and deleted
    # shoppers' provider customers.
    cleaners = hashcart.provider_cleaners().get
    # Buys with a post confirmed but not paid for yet (a gateway that did not answer) are
    # asked again on the same beat, and buys not confirmed in time expire.
    sweep = PaymentSweep(
        hashcart.unit_of_work,
        hashcart.clock,
        hashcart.payment_gateways().get,
        also=lambda now: (
            settle_cleanups(hashcart.unit_of_work, cleaners, now),
            hashcart.settle_buys(),
        ),
    )
    sweep.start()
    try:
        serve_web(hashcart, host, port, also=[*background.describe(), sweep.describe()])
    finally:
        sweep.stop()
        background.stop()
