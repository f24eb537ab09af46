"""A PostgreSQL shop whose `posts` and `actions` have the size at which the planner's choices
for the engine's statements by key matter (test_keyed_plans, test_keyed_plans_kept)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from hashcart.domain.posts import Network

# Where the old statements scanned: the planner's index look-ups win above ~50k rows.
ROWS = 20_000
KEYS = [(Network.X, "3"), (Network.MASTODON, "4"), (Network.BLUESKY, "5")]


def fill_keyed_tables(engine: Engine, rows: int = ROWS) -> None:
    """`rows` posts over the three networks (every other one a reply on a list) and as many
    claimed actions, then ANALYZE, so the planner sees the tables' real size."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO posts (network, post_id, author_id, author_handle, text, "
                "created_at, has_shop_link, parent_id, list_kind) "
                "SELECT (ARRAY['x', 'mastodon', 'bluesky'])[1 + g % 3], g::text, 'a', 'h', "
                "'t', now(), false, (g / 2)::text, CASE WHEN g % 2 = 0 THEN 'cart' END "
                "FROM generate_series(1, :rows) AS g"
            ),
            {"rows": rows},
        )
        connection.execute(
            text(
                "INSERT INTO actions (network, trigger_post_id, outcome, created_at) "
                "SELECT 'x', g::text, 'claimed', now() FROM generate_series(1, :rows) AS g"
            ),
            {"rows": rows},
        )
        connection.execute(text("ANALYZE posts"))
        connection.execute(text("ANALYZE actions"))
