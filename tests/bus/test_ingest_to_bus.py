"""`hashcart ingest --to-bus`: the prefilter at the edge, only the lines it keeps on the bus,
each under its network's post id as `Nats-Msg-Id` and in its author's partition, every one
acknowledged by the stream; published twice, stored once (JetStream's duplicate window,
https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication)."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hashcart.bus.subjects import partition_of
from hashcart.domain.posts import Post, PostDeleted
from hashcart.networks.payload_reader import NetworkPayloads
from hashcart.store import schema as t
from tests.bus.support import (
    facts_of,
    hashcart_env,
    ingest_files,
    prepared_shop,
    run_hashcart,
    stream_files,
)

PARTITIONS = 4


async def _messages(url: str) -> list[Any]:
    import nats

    client = await nats.connect(servers=url.split(","))
    try:
        js = client.jetstream()
        info = await js.stream_info("HASHCART_POSTS")
        return [
            await js.get_msg("HASHCART_POSTS", seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages
        ]
    finally:
        await client.close()


def _published(output: str) -> dict[str, int]:
    found = re.search(
        r"([\d,]+) lines read, ([\d,]+) kept and published \(([\d,]+) new, ([\d,]+) already",
        output,
    )
    assert found is not None, output
    lines, kept, new, again = (int(part.replace(",", "")) for part in found.groups())
    return {"lines": lines, "kept": kept, "new": new, "again": again}


def test_only_the_kept_lines_go_on_the_bus_once_each_in_their_authors_partition(
    bus_url: str, tmp_path: Path
) -> None:
    files = stream_files(tmp_path, 2000)
    database = f"sqlite:///{tmp_path / 'edge.db'}"
    prepared_shop(database).engine.dispose()
    env = hashcart_env(database, bus_url, bus_partitions=str(PARTITIONS))
    run_hashcart(["bus", "init"], env)

    first = _published(run_hashcart(["ingest", "--to-bus", *map(str, files)], env))
    messages = asyncio.run(_messages(bus_url))

    assert first["lines"] == 6000
    assert first["kept"] == first["new"] == len(messages)
    assert first["kept"] < 0.1 * first["lines"]  # a few percent of the stream
    # Every trigger the one-process engine acts on was published, under its post id.
    truth = prepared_shop(f"sqlite:///{tmp_path / 'truth.db'}")
    ingest_files(truth, files)
    ids = {message.headers["Nats-Msg-Id"] for message in messages}
    assert {f"{network}:{post_id}" for network, post_id in facts_of(truth).acted} <= ids
    # One author, one partition: the subject's partition is the hash of the author's account.
    reader = NetworkPayloads()
    partitions_of_author: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        event = reader.decode(message.data, "auto")[0]
        assert isinstance(event, Post | PostDeleted)
        if isinstance(event, Post):
            assert message.headers["Nats-Msg-Id"] == f"{event.network}:{event.post_id}"
            partition = partition_of(event.author_id, PARTITIONS)
            assert message.subject == f"hashcart.posts.{event.network}.{partition}"
            partitions_of_author[event.author_id].add(message.subject)
        assert message.headers["Hashcart-Source"] in {str(path) for path in files}
    assert all(len(subjects) == 1 for subjects in partitions_of_author.values())

    again = _published(run_hashcart(["ingest", "--to-bus", *map(str, files)], env))
    assert again == {**first, "new": 0, "again": first["kept"]}
    assert len(asyncio.run(_messages(bus_url))) == len(messages)


def test_lines_no_worker_can_read_still_go_to_be_dead_lettered_where_they_were_read(
    bus_url: str, tmp_path: Path
) -> None:
    hostile = [
        b'{"text": "#cart", "broken',  # cut short
        b"\xff\xfe not utf-8 #cart",
        *(
            json.dumps({"text": f"#cart {text}"}).encode()
            for text in ("<script>alert(1)</script>", "\u0000", "é" * 50_000)
        ),
    ]
    too_big_for_the_bus = b'{"text": "#cart ' + b"a" * 1_047_000 + b'"}'  # under 1 MiB
    over_a_mebibyte = b'{"text": "#cart ' + b"a" * 1_100_000 + b'"}'
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join([*hostile, too_big_for_the_bus, over_a_mebibyte]) + b"\n")
    database = f"sqlite:///{tmp_path / 'edge.db'}"
    prepared_shop(database).engine.dispose()
    env = hashcart_env(database, bus_url, bus_partitions=str(PARTITIONS))
    run_hashcart(["bus", "init"], env)

    run_hashcart(["ingest", "--to-bus", str(path)], env)
    messages = asyncio.run(_messages(bus_url))

    # The two lines no message can carry are dead-lettered at the edge, where they were read.
    with prepared_shop(database).engine.connect() as connection:
        letters = connection.execute(
            select(t.dead_letters.c.line, t.dead_letters.c.reason).order_by(t.dead_letters.c.line)
        ).all()
    assert [line for line, _ in letters] == [6, 7]
    assert letters[0].reason.startswith("line longer than the bus takes")
    assert letters[1].reason == "line longer than 1 MiB"
    assert all(int(m.headers["Hashcart-Line"]) <= 5 for m in messages)

    by_line = {int(m.headers["Hashcart-Line"]): m for m in messages}
    assert set(by_line) >= {1, 2}  # the broken lines, to be dead-lettered by a worker
    for message in messages:
        assert message.subject.startswith("hashcart.posts.unknown.")
        assert message.headers["Nats-Msg-Id"].startswith("line:")
        assert message.data == hostile[int(message.headers["Hashcart-Line"]) - 1]
