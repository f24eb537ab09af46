"""`hashcart listen` and `hashcart dispatch`: the live networks without the web app.

`listen` runs the stream listeners the settings name; `dispatch` sends the outbox (replies,
private messages, email) until stopped, or once with `--once`. `hashcart serve` runs both
beside the web app (hashcart.live.BackgroundServices)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import app, app_of, console, fail, print_json, start_logging

if TYPE_CHECKING:
    from hashcart.listeners.base import Listener

# `dispatch --once` handles this many rows a run, and runs until a run is not full.
ONCE_BATCH = 100


@app.command()
def listen(ctx: typer.Context) -> None:
    """Listen to the networks the settings name (listeners = [...]) until Ctrl-C; the
    catalog's new pictures are fetched beside them, one at a time."""
    import asyncio

    from hashcart import live
    from hashcart.metrics import serve_metrics
    from hashcart.networks import registry as networks
    from hashcart.services.sales import SettleTimer
    from hashcart.services.settle_first import SettleFirst

    hashcart = app_of(ctx, start=True)
    start_logging(hashcart)  # before the listeners are built: they warn of what is missing
    serve_metrics(hashcart.settings.metrics_port)  # Prometheus (README, Run at scale)
    named = hashcart.effective_settings().listeners
    if not named:
        every = ", ".join(networks.listener_names())
        fail(f"no listeners configured: set listeners = [...] ({every})")

    sink = live.live_ingest(hashcart)
    listeners = live.listeners(hashcart, sink)
    if not listeners:
        fail(
            f"none of the listeners named ({', '.join(named)}) is configured: each needs its "
            "network's settings (see the README, Live networks)"
        )
    console.print(
        "hashcart listening: " + ", ".join(one.name for one in listeners),
        markup=False,
        soft_wrap=True,
    )
    # The catalog's new pictures, fetched one at a time beside the listeners (issue 14).
    pictures = hashcart.start_picture_fetch()
    # Live sales (issue 13): claims past their window settled even when no reply follows
    # them (an ingest batch settles only what is due when it arrives), as in serve.
    # Its passes go before the sink's batches (services/settle_first).
    first = sink.settle_first = SettleFirst()
    sales = SettleTimer(hashcart.unit_of_work, hashcart.shop, hashcart.clock, first=first)
    sales.start()
    try:
        asyncio.run(_listen_until_signalled(listeners))
    finally:
        sales.stop()
        pictures.stop()
    stats = sink.stats
    console.print(
        f"hashcart stopped listening: {stats.posts} posts read, {stats.triggers} triggers, "
        f"{stats.actions.lines_added} cart and wish-list lines added.",
        markup=False,
        soft_wrap=True,
    )


async def _listen_until_signalled(listeners: list[Listener]) -> None:
    import asyncio

    from hashcart.listeners.runner import run_listeners

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    console.print("Press Ctrl-C to stop.", markup=False, soft_wrap=True)
    await run_listeners(listeners, stop)


@app.command()
def dispatch(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Send what is due now, print a summary and exit.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --once: the counts as JSON.")
    ] = False,
) -> None:
    """Send the outbox's messages (replies, private messages, email) until Ctrl-C."""
    from hashcart.outbox.dispatcher import (
        DispatchRun,
        build_senders,
        dispatch_once,
        run_dispatcher,
    )

    if as_json and not once:
        fail("--json goes with --once")
    hashcart = app_of(ctx, start=True)
    if not once:  # --once prints its summary; until stopped, what happens is logged
        start_logging(hashcart)
    settings = hashcart.effective_settings()
    senders = build_senders(hashcart, settings)
    if once:
        run = DispatchRun()
        while True:
            done = dispatch_once(hashcart, senders, limit=ONCE_BATCH)
            run += done
            if done.handled < ONCE_BATCH:
                break
        if as_json:
            print_json(run.counts())
            return
        _show_senders(sorted(senders))
        console.print(f"dispatched: {run.summary()}", markup=False, soft_wrap=True)
        with hashcart.unit_of_work(read_only=True) as uow:
            waiting = uow.outbox.waiting_without_sender(senders)
        for network, count in waiting.items():
            missing = "SMTP server (smtp_host)" if network == "email" else f"{network} sender"
            waits = "1 message waits" if count == 1 else f"{count} messages wait"
            console.print(
                f"  {waits} for {network}: no {missing} is configured",
                markup=False,
                soft_wrap=True,
            )
        return
    stop = threading.Event()

    def stop_on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    measure = None
    if hashcart.settings.metrics_port:  # Prometheus on metrics_port (README, Run at scale)
        from hashcart.metrics import metrics, serve_metrics

        serve_metrics(hashcart.settings.metrics_port)
        measure = metrics()

    def report(run: DispatchRun) -> None:
        if measure is not None:
            measure.dispatched(run.sent, run.failed)
        if run.handled:
            console.print(f"dispatched: {run.summary()}", markup=False, soft_wrap=True)

    previous = {
        number: signal.signal(number, stop_on_signal) for number in (signal.SIGINT, signal.SIGTERM)
    }
    _show_senders(sorted(senders))
    console.print("Press Ctrl-C to stop.", markup=False, soft_wrap=True)
    try:
        run_dispatcher(hashcart, stop, senders, built_from=settings, on_run=report)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    console.print("hashcart stopped dispatching.", markup=False, soft_wrap=True)


def _show_senders(networks: list[str]) -> None:
    if networks:
        console.print(
            "hashcart dispatching for: " + ", ".join(networks), markup=False, soft_wrap=True
        )
    else:
        console.print(
            "hashcart dispatching for: nothing yet (no network sender or SMTP server is "
            "configured; messages wait in the outbox)",
            markup=False,
            soft_wrap=True,
        )
