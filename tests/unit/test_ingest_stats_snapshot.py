"""IngestStats.snapshot: the counts a rolled-back batch restores are a copy that later counting
does not reach, the action counts included (they are a dataclass of their own)."""

from __future__ import annotations

from hashcart.services.counts import ActionCounts, IngestStats


def test_a_snapshot_keeps_its_counts_while_the_live_counts_go_on() -> None:
    live = IngestStats(lines=3, posts=2, triggers=1, actions=ActionCounts(lines_added=1))
    saved = live.snapshot()
    live.posts += 5
    live.actions.lines_added += 4
    live.actions.messages += 1
    assert saved == IngestStats(lines=3, posts=2, triggers=1, actions=ActionCounts(lines_added=1))
    assert saved.actions is not live.actions
    assert live.posts == 7 and live.actions.lines_added == 5
