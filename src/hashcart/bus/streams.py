"""`hashcart bus init`: the stream, one durable pull consumer per partition, and the lease
bucket, created or brought to the settings, idempotently (run it at every deploy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
        num_replicas=bus.replicas,
    )


async def init_bus(js: JetStreamContext, bus: BusSettings) -> InitReport:
    from nats.js.api import KeyValueConfig, StorageType
    from nats.js.errors import BadRequestError, NotFoundError

    report = InitReport()
    config = stream_config(bus)
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(config)  # type: ignore[arg-type]
        report.created = True
    else:
        await js.update_stream(config)  # type: ignore[arg-type]
    existing = {info.name for info in await js.consumers_info(STREAM)}
    wanted = {consumer_of(partition) for partition in range(bus.partitions)}
    for partition in range(bus.partitions):
        name = consumer_of(partition)
        await js.add_consumer(STREAM, consumer_config(bus, partition))  # type: ignore[arg-type]
        (report.consumers_updated if name in existing else report.consumers_created).append(name)
    # Consumers of partitions a smaller bus_partitions no longer has are left alone (their
    # posts may not be consumed yet) and named, so the operator removes them once drained.
    report.extra_consumers = sorted(
        name for name in existing - wanted if name.startswith("hashcart-p")
    )
    try:
        await js.create_key_value(
            KeyValueConfig(
                bucket=LEASE_BUCKET,
                history=1,
                ttl=bus.lease_seconds,
                replicas=bus.replicas,
                storage=StorageType.FILE,
            )
        )
    except BadRequestError:
        # The bucket exists with another TTL or replica count: nats-py creates buckets
        # only, so its stream is brought to the settings directly.
        leases = (await js.stream_info(f"KV_{LEASE_BUCKET}")).config
        leases.max_age = bus.lease_seconds
        leases.duplicate_window = min(bus.lease_seconds, 120.0)
        leases.num_replicas = bus.replicas
        await js.update_stream(leases)
    return report
