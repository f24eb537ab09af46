"""`hashcart bus init`: the stream `hashcart.posts.<network>.<partition>` with the replicas,
max age and duplicate window settings, one durable pull consumer per partition filtered to it,
and the lease bucket; run again, it changes nothing but what the settings changed.

NATS documents the stream and consumer fields used here at
https://docs.nats.io/nats-concepts/jetstream/streams and
https://docs.nats.io/nats-concepts/jetstream/consumers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.bus.support import hashcart_env, run_hashcart


async def _state(url: str) -> dict[str, Any]:
    import nats

    client = await nats.connect(servers=url.split(","))
    try:
        js = client.jetstream()
        stream = await js.stream_info("HASHCART_POSTS")
        consumers = await js.consumers_info("HASHCART_POSTS")
        leases = await js.stream_info("KV_hashcart_leases")
        return {"stream": stream, "consumers": consumers, "leases": leases}
    finally:
        await client.close()


def test_bus_init_creates_a_replicated_stream_and_one_filtered_consumer_per_partition(
    bus_url: str, tmp_path: Path
) -> None:
    env = hashcart_env(f"sqlite:///{tmp_path / 'db.sqlite'}", bus_url, bus_partitions="4")
    report = json.loads(run_hashcart(["bus", "init", "--json"], env))

    assert report == {
        "stream": "HASHCART_POSTS",
        "created": True,
        "consumers_created": ["hashcart-p0", "hashcart-p1", "hashcart-p2", "hashcart-p3"],
        "consumers_updated": [],
        "extra_consumers": [],
    }
    state = asyncio.run(_state(bus_url))
    config = state["stream"].config
    assert config.subjects == ["hashcart.posts.>"]
    assert config.num_replicas == 3
    assert config.duplicate_window == 120
    assert config.max_age == 168 * 3600
    assert len(state["stream"].cluster.replicas) == 2  # a leader and two followers
    filters = {c.name: c.config.filter_subject for c in state["consumers"]}
    assert filters == {f"hashcart-p{n}": f"hashcart.posts.*.{n}" for n in range(4)}
    for consumer in state["consumers"]:
        assert consumer.config.durable_name == consumer.name
        assert consumer.config.ack_policy == "explicit"
        assert consumer.config.max_ack_pending == 500  # bus_batch_size
    assert state["leases"].config.max_age == 15  # bus_lease_seconds
    assert state["leases"].config.num_replicas == 3


def test_bus_init_again_changes_only_what_the_settings_changed(
    bus_url: str, tmp_path: Path
) -> None:
    env = hashcart_env(f"sqlite:///{tmp_path / 'db.sqlite'}", bus_url, bus_partitions="2")
    run_hashcart(["bus", "init"], env)
    env["HASHCART_BUS_DUPLICATE_WINDOW_SECONDS"] = "300"
    env["HASHCART_BUS_PARTITIONS"] = "1"
    env["HASHCART_BUS_LEASE_SECONDS"] = "6"
    again = json.loads(run_hashcart(["bus", "init", "--json"], env))

    assert again["created"] is False
    assert again["consumers_created"] == []
    assert again["consumers_updated"] == ["hashcart-p0"]
    # p1 may still hold posts: named for the operator, not deleted.
    assert again["extra_consumers"] == ["hashcart-p1"]
    state = asyncio.run(_state(bus_url))
    assert state["stream"].config.duplicate_window == 300
    assert state["leases"].config.max_age == 6
    assert len(state["consumers"]) == 2


def test_bus_init_without_a_bus_url_is_a_usage_error(tmp_path: Path) -> None:
    from tests.cli_runner import run_cli

    result = run_cli(["bus", "init"], env={"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path}/d"})
    assert result.exit_code == 2
    assert "no bus is configured: set bus_url" in result.stderr


def test_bus_consumer_replicas_sets_the_consumers_copies_and_init_changes_them_back(
    bus_url: str, tmp_path: Path
) -> None:
    """One copy of each consumer's state (bus_consumer_replicas=1) on a stream of three,
    then back to the stream's count (0): `bus init` updates the consumers in place."""
    env = hashcart_env(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        bus_url,
        bus_partitions="2",
        bus_consumer_replicas="1",
    )
    run_hashcart(["bus", "init"], env)
    state = asyncio.run(_state(bus_url))
    assert state["stream"].config.num_replicas == 3
    assert [c.config.num_replicas for c in state["consumers"]] == [1, 1]
    assert all(not c.cluster.replicas for c in state["consumers"])  # a leader alone

    env["HASHCART_BUS_CONSUMER_REPLICAS"] = "0"
    again = json.loads(run_hashcart(["bus", "init", "--json"], env))
    assert again["consumers_updated"] == ["hashcart-p0", "hashcart-p1"]
    state = asyncio.run(_state(bus_url))
    assert [c.config.num_replicas for c in state["consumers"]] == [3, 3]
