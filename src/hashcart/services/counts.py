"""What an ingest did, counted: the summary `hashcart ingest` prints and the live sink sums.

Its own module so that the engine and every trigger kind's handler (services/handlers) can
add to the counts without importing the ingest loop."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class ActionCounts:
    """How the triggers acted, for the ingest summary."""

    lines_added: int = 0
    pending: int = 0
    messages: int = 0
    no_product: int = 0
    which_product: int = 0
    unavailable: int = 0
    already: int = 0
    # Issue 12: replies asked which variant; lines removed by `#cart remove`; lines and
    # waiting requests undone because their trigger post was deleted (undo_on_delete).
    which_variant: int = 0
    removed: int = 0
    undone: int = 0
    # Buy with a post (issue 12): `#buy` requests answered with a code, codes confirmed.
    buys_requested: int = 0
    buys_confirmed: int = 0
    # Live sales (issue 13): claims recorded (a redelivered one is not counted again).
    claims: int = 0


@dataclass
class IngestStats:
    """What an ingest did. Lines add up: every line read that is not blank is counted once,
    as a post (it carried posts or deletions), a skipped line (it carried none: likes,
    follows, identity events) or a dead letter: `lines == posts + skipped + dead_letters`.
    The other counts are of posts and events within those lines."""

    lines: int = 0
    posts: int = 0
    triggers: int = 0
    skipped: int = 0
    dead_letters: int = 0
    # Posts taken no further: later versions of edited posts (for a network that keeps the
    # id across edits, Mastodon, only those whose first version was stored) and reposts.
    edits_and_reposts: int = 0
    # Events that are not posts in lines that also carried posts (an Account Activity
    # envelope may hold a tweet and a favourite).
    other_events: int = 0
    duplicates: int = 0
    waiting_for_parent: int = 0
    # Link posts (`#cartlink CODE`): accounts linked; codes that were unknown, expired, used
    # or missing; accounts that stay with the other customer they are linked to.
    links: int = 0
    link_codes_invalid: int = 0
    links_refused: int = 0
    actions: ActionCounts = field(default_factory=ActionCounts)

    def snapshot(self) -> IngestStats:
        """A copy to restore when a batch rolls back: the counts are plain numbers, so a
        copy of each dataclass is enough (copy.deepcopy walked them generically, twice a
        batch: 4 % of a bus worker's CPU, docs/benchmarks.md "s26-engine")."""
        return dataclasses.replace(self, actions=dataclasses.replace(self.actions))

    def __add__(self, other: IngestStats) -> IngestStats:
        """Two runs' counts together (the demo ingests in two halves)."""
        mine, theirs = vars(self), vars(other)
        plain = {name: mine[name] + theirs[name] for name in mine if name != "actions"}
        actions = ActionCounts(
            **{
                name: value + vars(other.actions)[name]
                for name, value in vars(self.actions).items()
            }
        )
        return IngestStats(**plain, actions=actions)
