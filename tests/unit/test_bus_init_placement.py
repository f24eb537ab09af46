"""`bus init` waits while the cluster cannot place replicas yet, and only then.

JetStream answers "no suitable peers for placement" (error code 10005, nats-server's
JSClusterNoPeersErrF) while a node is restarting or not yet known to the others; CI saw it
once right after a three-node cluster started, for the lease bucket after the stream and
consumers were placed, and init then misread it as "the bucket exists" and failed on
"stream not found". The refusal here is the API error nats-py raises for that answer. CI also
saw a request to a cluster started a moment before go unanswered within nats-py's 5 s
("nats: timeout"): that too is "not yet"."""

from __future__ import annotations

import asyncio

import pytest
from nats.errors import TimeoutError as NoAnswer
from nats.js.errors import BadRequestError

from hashcart.bus import streams


def _no_peers() -> BadRequestError:
    return BadRequestError(
        code=400, err_code=10005, description="no suitable peers for placement, peer offline"
    )


def test_a_placement_refused_while_a_node_returns_is_tried_again() -> None:
    calls: list[int] = []

    async def place() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _no_peers()
        return "placed"

    assert asyncio.run(streams.when_ready(place)) == "placed"
    assert len(calls) == 3


def test_any_other_refusal_is_raised_at_once() -> None:
    calls: list[int] = []

    async def refuse() -> None:
        calls.append(1)
        raise BadRequestError(code=400, err_code=10058, description="stream name already in use")

    with pytest.raises(BadRequestError) as raised:
        asyncio.run(streams.when_ready(refuse))
    assert raised.value.err_code == 10058
    assert len(calls) == 1


def test_a_cluster_that_never_places_is_given_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "PLACEMENT_WAIT_SECONDS", 0.6)
    calls: list[int] = []

    async def never() -> None:
        calls.append(1)
        raise _no_peers()

    with pytest.raises(BadRequestError) as raised:
        asyncio.run(streams.when_ready(never))
    assert raised.value.err_code == streams.NO_SUITABLE_PEERS
    assert 2 <= len(calls) <= 3  # 0.25 s, then 0.5 s would pass the 0.6 s given


def test_a_request_the_cluster_did_not_answer_in_time_is_tried_again() -> None:
    calls: list[int] = []

    async def slow_then_placed() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise NoAnswer
        return "placed"

    assert asyncio.run(streams.when_ready(slow_then_placed)) == "placed"
    assert len(calls) == 2


def test_a_cluster_that_never_answers_is_given_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "PLACEMENT_WAIT_SECONDS", 0.6)
    calls: list[int] = []

    async def silent() -> None:
        calls.append(1)
        raise NoAnswer

    with pytest.raises(NoAnswer):
        asyncio.run(streams.when_ready(silent))
    assert 2 <= len(calls) <= 3
