"""`hashcart bus init`: the stream, one durable pull consumer per partition, and the lease
bucket, created or brought to the settings, idempotently (run it at every deploy)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from hashcart.bus.client import BusSettings
from hashcart.bus.subjects import (
    LEASE_BUCKET,
    STREAM,
    SUBJECT_PREFIX,
    consumer_of,
    partition_filter,
)

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

# Deliveries of one message before the consumer stops offering it: a message that crashes
# every worker that takes it must not stop its partition for ever. It stays in the stream
# (JetStream publishes a MAX_DELIVERIES advisory); a message the engine cannot store is
# dead-lettered in the database long before that, on its first delivery.
MAX_DELIVER = 20
# How long `bus init` waits for a cluster that cannot place a replicated stream yet (a node
# restarting or not yet known to the others: "no suitable peers for placement").
PLACEMENT_WAIT_SECONDS = 30.0
NO_SUITABLE_PEERS = 10005  # JetStream's error code for it (nats-server JSClusterNoPeersErrF)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass
class InitReport:
    stream: str = STREAM
    created: bool = False
    consumers_created: list[str] = field(default_factory=list)
    consumers_updated: list[str] = field(default_factory=list)
    extra_consumers: list[str] = field(default_factory=list)


def stream_config(bus: BusSettings) -> object:
    from nats.js.api import RetentionPolicy, StorageType, StreamConfig

    return StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=bus.replicas,
        max_age=bus.max_age_seconds,
        duplicate_window=bus.duplicate_window_seconds,
    )


def consumer_config(bus: BusSettings, partition: int) -> object:
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    return ConsumerConfig(
        durable_name=consumer_of(partition),
        filter_subject=partition_filter(partition),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=bus.ack_wait_seconds,
        max_deliver=MAX_DELIVER,
        # One worker holds a partition, and a batch is all it has in flight: more pending
        # would let a redelivery overtake a later post of the same account.
        max_ack_pending=bus.batch_size,
        num_replicas=consumer_replicas(bus),
    )


def consumer_replicas(bus: BusSettings) -> int:
    """Copies of a partition consumer's state: `bus_consumer_replicas`, or the stream's.
    nats-server (server/consumer.go, `replicateDeliveries`, since v2.11.10) sends a
    replicated consumer's delivery only once a majority stored it, and stores every
    acknowledgement on a majority: two rounds of its Raft group per post, on top of the
    stream's own. A single copy does neither, but its partition stops while its node is
    down (its state is kept in that node's store and comes back with it)."""
    return min(bus.consumer_replicas or bus.replicas, bus.replicas)


async def init_bus(js: JetStreamContext, bus: BusSettings) -> InitReport:
    from nats.js.api import KeyValueConfig, StorageType
    from nats.js.errors import NotFoundError

    report = InitReport()
    config = stream_config(bus)
    try:
        await when_ready(partial(js.stream_info, STREAM))
    except NotFoundError:
        await when_ready(partial(js.add_stream, config))  # type: ignore[arg-type]
        report.created = True
    else:
        await when_ready(partial(js.update_stream, config))  # type: ignore[arg-type]
    existing = {info.name for info in await when_ready(partial(js.consumers_info, STREAM))}
    wanted = {consumer_of(partition) for partition in range(bus.partitions)}
    for partition in range(bus.partitions):
        name = consumer_of(partition)
        await when_ready(partial(js.add_consumer, STREAM, consumer_config(bus, partition)))  # type: ignore[arg-type]
        (report.consumers_updated if name in existing else report.consumers_created).append(name)
    # Consumers of partitions a smaller bus_partitions no longer has are left alone (their
    # posts may not be consumed yet) and named, so the operator removes them once drained.
    report.extra_consumers = sorted(
        name for name in existing - wanted if name.startswith("hashcart-p")
    )
    bucket = KeyValueConfig(
        bucket=LEASE_BUCKET,
        history=1,
        ttl=bus.lease_seconds,
        replicas=bus.replicas,
        storage=StorageType.FILE,
    )
    try:
        leases = (await when_ready(partial(js.stream_info, f"KV_{LEASE_BUCKET}"))).config
    except NotFoundError:
        await when_ready(partial(js.create_key_value, bucket))
        return report
    # The bucket exists (perhaps with another TTL or replica count): nats-py creates
    # buckets only, so its stream is brought to the settings directly.
    leases.max_age = bus.lease_seconds
    leases.duplicate_window = min(bus.lease_seconds, 120.0)
    leases.num_replicas = bus.replicas
    await when_ready(partial(js.update_stream, leases))
    return report


async def when_ready(action: Callable[[], Awaitable[_T]]) -> _T:
    """`action` (an idempotent JetStream API request), again after a pause while the cluster
    cannot answer it yet, up to PLACEMENT_WAIT_SECONDS; any other refusal at once. Two
    answers mean "not yet": "no suitable peers for placement" (a node restarting, or not yet
    known to the others: seen in the tests right after a node's restart, the stream and the
    consumers placed, the lease bucket a moment later not), and no answer in the request's
    timeout (a replicated stream's Raft group still electing on a busy machine: seen in CI as
    "nats: timeout" from the first request to a cluster started a moment before). Each
    request here is safe to repeat: creating what exists with the same configuration is
    answered as a success, and deleting it again as "not found"."""
    from nats.errors import TimeoutError as NoAnswer
    from nats.js.errors import BadRequestError, ServiceUnavailableError

    loop = asyncio.get_running_loop()
    give_up = loop.time() + PLACEMENT_WAIT_SECONDS
    pause = 0.25
    while True:
        try:
            return await action()
        except BadRequestError as error:
            if error.err_code != NO_SUITABLE_PEERS or loop.time() + pause > give_up:
                raise
            _log.warning("bus init: %s; trying again in %.2f s", error.description, pause)
        except (NoAnswer, ServiceUnavailableError) as error:
            if loop.time() + pause > give_up:
                raise
            _log.warning("bus init: %r; trying again in %.2f s", error, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
