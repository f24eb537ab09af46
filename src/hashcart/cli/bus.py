"""Running at scale (README "Run at scale"): `hashcart bus init`, `hashcart worker` and
`hashcart status`. `hashcart ingest --to-bus` lives with ingest (cli/ingest.py)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hashcart.cli import app, console, fail, open_with, print_json, settings_of, start_logging

if TYPE_CHECKING:
    from hashcart.bus.client import BusSettings
    from hashcart.config import Settings

bus_app = typer.Typer(help="The NATS JetStream bus (README, Run at scale).", no_args_is_help=True)
app.add_typer(bus_app, name="bus")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def bus_settings(settings: Settings) -> BusSettings:
    from hashcart.bus.client import BusSettings, BusUnavailable

    try:
        return BusSettings.of(settings)
    except BusUnavailable as error:
        fail(str(error))


@bus_app.command("init")
def bus_init(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="What was done, as JSON.")] = False,
) -> None:
    """Create or update the stream, one consumer per partition, and the lease bucket."""
    import asyncio

    from hashcart.bus.client import close, connect
    from hashcart.bus.streams import init_bus

    bus = bus_settings(settings_of(ctx))

    async def run() -> Any:
        client = await connect(bus, name="hashcart bus init")
        try:
            return await init_bus(client.jetstream(), bus)
        finally:
            await close(client)

    report = asyncio.run(run())
    if as_json:
        print_json(
            {
                "stream": report.stream,
                "created": report.created,
                "consumers_created": report.consumers_created,
                "consumers_updated": report.consumers_updated,
                "extra_consumers": report.extra_consumers,
            }
        )
        return
    done = "created" if report.created else "updated"
    console.print(
        f"stream {report.stream} {done} ({bus.replicas} replicas, {bus.partitions} partitions); "
        f"consumers: {len(report.consumers_created)} created, "
        f"{len(report.consumers_updated)} updated",
        markup=False,
        soft_wrap=True,
    )
    for name in report.extra_consumers:
        console.print(
            f"  consumer {name} is beyond bus_partitions: remove it once it has no pending posts",
            markup=False,
            soft_wrap=True,
        )


def _worker_id() -> str:
    host = _KEY_UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


@app.command()
def worker(ctx: typer.Context) -> None:
    """Take partitions of the bus and run the engine on their posts until Ctrl-C."""
    import asyncio

    from hashcart.bus.client import close, connect
    from hashcart.bus.leases import Leases
    from hashcart.bus.worker import BusMessage, ConsumerLag, Worker
    from hashcart.live_worker import WorkerEngine, WorkerNetwork
    from hashcart.metrics import metrics, serve_metrics
    from hashcart.services.sales import SettleTimer

    settings = settings_of(ctx)
    bus = bus_settings(settings)
    hashcart = open_with(settings)
    start_logging(hashcart)
    serve_metrics(settings.metrics_port)

    measure = metrics() if settings.metrics_port else None
    # Parents fetched and short links followed as one process does, off the engine.
    network = WorkerNetwork.of(hashcart)
    handle = WorkerEngine(
        hashcart, max(settings.ingest_batch_size, bus.batch_size), network, measure
    )

    def timed(batch: list[BusMessage], seconds: float) -> None:
        if measure is not None:
            measure.batch_seconds.observe(seconds)

    def committed(batch: list[BusMessage], at: float) -> None:
        if measure is not None:
            for item in batch:
                if item.published is not None:
                    measure.publish_to_commit_seconds.observe(max(0.0, at - item.published))

    def lag(partition: int, seen: ConsumerLag) -> None:
        if measure is not None:
            label = str(partition)
            measure.consumer_pending.labels(label).set(seen.pending)
            measure.consumer_ack_pending.labels(label).set(seen.ack_pending)
            measure.consumer_redelivered.labels(label).set(seen.redelivered)

    worker_id = _worker_id()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        client = await connect(bus, name=f"hashcart worker {worker_id}")
        try:
            js = client.jetstream()
            leases = await Leases.open(js, worker_id)
            working = Worker(
                js,
                leases,
                bus,
                handle,
                stop,
                on_batch=timed,
                on_lag=lag if measure else None,
                on_commit=committed,
                prepare=network.prepare,
                nc=client,
            )
            console.print(
                f"hashcart worker {worker_id}: {bus.partitions} partitions on "
                f"{bus.shown()}. Press Ctrl-C to stop.",
                markup=False,
                soft_wrap=True,
            )
            # Live sales (issue 13): claims past their settle window and holds that ran
            # out are settled here too, so a sale settles with no `serve` running; the
            # workers' passes skip an item another one is settling.
            settling = SettleTimer(hashcart.unit_of_work, hashcart.shop, hashcart.clock)
            settling.start()
            network.start()
            try:
                await working.run()
            finally:
                network.stop()
                settling.stop()
            counts = working.counts
            console.print(
                f"hashcart worker stopped: {counts.messages} posts in {counts.batches} "
                f"batches ({counts.redelivered} redelivered), "
                f"{handle.ingestor.stats.actions.lines_added} cart and wish-list lines added.",
                markup=False,
                soft_wrap=True,
            )
        finally:
            await close(client)

    asyncio.run(run())


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="The same, as JSON.")] = False,
) -> None:
    """The bus's stream and consumer lag, the outbox's backlog, the oldest pending trigger."""
    from hashcart.views.backlog import backlog

    settings = settings_of(ctx)
    hashcart = open_with(settings)
    with hashcart.engine.connect() as connection:
        report: dict[str, Any] = {"database": backlog(connection)}
    report["bus"] = _bus_state(settings) if settings.bus_url else None
    if as_json:
        print_json(report)
        return
    db = report["database"]
    lines = [
        f"outbox: {db['outbox_queued']} queued, {db['outbox_sending']} sending"
        + (f", oldest queued {db['oldest_queued_message']}" if db["oldest_queued_message"] else ""),
        f"pending triggers: {db['pending_triggers']}"
        + (f", oldest {db['oldest_pending_trigger']}" if db["oldest_pending_trigger"] else ""),
    ]
    state = report["bus"]
    if state is None:
        lines.append("bus: none (bus_url is empty; one process does everything)")
    else:
        stream = state["stream"]
        lines.append(
            f"stream {stream['name']}: {stream['messages']} messages, {stream['bytes']} bytes, "
            f"sequences {stream['first_seq']}-{stream['last_seq']}, leader {stream['leader']}"
        )
        for consumer in state["consumers"]:
            lines.append(
                f"  {consumer['name']}: {consumer['pending']} pending, "
                f"{consumer['ack_pending']} unacknowledged, {consumer['redelivered']} "
                f"redelivered, held by {consumer['held_by'] or 'nobody'}"
            )
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


def _bus_state(settings: Settings) -> dict[str, Any]:
    import asyncio

    from hashcart.bus.client import close, connect
    from hashcart.bus.leases import Leases
    from hashcart.bus.subjects import STREAM

    bus = bus_settings(settings)

    async def run() -> dict[str, Any]:
        from nats.js.errors import NotFoundError

        client = await connect(bus, name="hashcart status")
        try:
            js = client.jetstream()
            try:
                info = await js.stream_info(STREAM)
            except NotFoundError:
                fail(f"the bus has no stream {STREAM}: run `hashcart bus init`")
            try:
                holders = await (await Leases.open(js, "status")).holders()
            except NotFoundError:
                holders = {}
            consumers = []
            for consumer in sorted(await js.consumers_info(STREAM), key=lambda c: c.name):
                partition = consumer.name.removeprefix("hashcart-p")
                consumers.append(
                    {
                        "name": consumer.name,
                        "pending": consumer.num_pending or 0,
                        "ack_pending": consumer.num_ack_pending or 0,
                        "redelivered": consumer.num_redelivered or 0,
                        "held_by": holders.get(int(partition)) if partition.isdigit() else None,
                    }
                )
            state = info.state
            return {
                "stream": {
                    "name": STREAM,
                    "messages": state.messages,
                    "bytes": state.bytes,
                    "first_seq": state.first_seq,
                    "last_seq": state.last_seq,
                    "leader": info.cluster.leader if info.cluster else None,
                    "replicas": info.config.num_replicas,
                },
                "consumers": consumers,
            }
        finally:
            await close(client)

    return asyncio.run(run())
