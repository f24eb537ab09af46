"""The publisher's linger (bus/publisher.Linger): publishes leave at most once every
`bus_publish_linger_ms`, together, so the JetStream servers wake once for a group instead of
once a post. Time does not pass in these tests: the linger is an hour, and a group leaves
because it is full or because the gate is opened."""

from __future__ import annotations

import asyncio

import pytest

from hashcart.bus.publisher import Linger

HOUR = 3600.0


async def _settle() -> None:
    """Let every ready task run until it waits again (no time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


def _publishes(linger: Linger, numbers: range, left: list[int]) -> list[asyncio.Task[None]]:
    """One task a publish: it takes its turn, then says it left (in `left`)."""

    async def publish(number: int) -> None:
        await linger.turn()
        left.append(number)

    return [asyncio.create_task(publish(n)) for n in numbers]


def test_the_first_publish_after_a_quiet_spell_leaves_at_once() -> None:
    async def scenario() -> None:
        linger = Linger(HOUR)
        await asyncio.wait_for(linger.turn(), timeout=5)  # would wait an hour otherwise

    asyncio.run(scenario())


@pytest.mark.parametrize(("cancelled", "leaving"), [(None, [0, 1, 2]), (1, [0, 2])])
def test_publishes_within_the_linger_wait_and_leave_together(
    cancelled: int | None, leaving: list[int]
) -> None:
    """A publish cancelled while it waits does not cancel the others of its group."""

    async def scenario() -> list[int]:
        linger = Linger(HOUR, most=100)
        await linger.turn()
        left: list[int] = []
        tasks = _publishes(linger, range(3), left)
        await _settle()
        assert left == []  # within the hour: all three wait
        if cancelled is not None:
            tasks.pop(cancelled).cancel()
            await _settle()
        linger.open()
        await asyncio.gather(*tasks)
        return left

    assert asyncio.run(scenario()) == leaving


def test_a_full_group_leaves_without_waiting_for_the_linger() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        linger = Linger(HOUR, most=3)
        await linger.turn()
        left: list[int] = []
        first = _publishes(linger, range(2), left)
        await _settle()
        before_full = list(left)
        third = _publishes(linger, range(2, 3), left)
        await asyncio.wait_for(asyncio.gather(*first, *third), timeout=5)
        return before_full, left

    before_full, left = asyncio.run(scenario())
    assert before_full == []
    assert sorted(left) == [0, 1, 2]


def test_no_linger_lets_every_publish_leave_at_once() -> None:
    async def scenario() -> None:
        linger = Linger(0.0)
        for _ in range(3):
            await asyncio.wait_for(linger.turn(), timeout=5)

    asyncio.run(scenario())
