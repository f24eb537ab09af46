"""What the bus tests share: a generated stream in the three networks' shapes with a shop whose
shoppers are linked, the truth that stream must give (file ingest in one process, the engine
everyone runs today), and the facts of a database to compare with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import feed_row
from hashcart.domain.posts import Network
from hashcart.services.ingest import Ingestor
from hashcart.sources import read_blocks
from hashcart.store import schema as t
from hashcart.synthetic import BenchShape, bench_accounts, bench_stream, demo_catalog
from hashcart.synthetic.bench import POOL_SIZE
from tests.payloads import BASE_TIME

ROOT = Path(__file__).resolve().parents[2]
HOST = "shop.example"
SHAPES: dict[BenchShape, Network] = {
    "x": Network.X,
    "mastodon": Network.MASTODON,
    "jetstream": Network.BLUESKY,
}
# Dated after every generated post, so the posts' own times decide what the engine does.
CLOCK = FixedClock(BASE_TIME.replace(year=BASE_TIME.year + 30))


def stream_files(folder: Path, posts_per_shape: int, trigger_rate: float = 0.02) -> list[Path]:
    """One file a shape; a richer share of triggers than a real firehose, so a small stream
    still exercises every path (waiting for a parent, already in the cart, decoys)."""
    files = []
    for shape in SHAPES:
        path = folder / f"{shape}.jsonl"
        lines = bench_stream(shape, posts_per_shape, trigger_rate, host=HOST)
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        files.append(path)
    return files


def prepared_shop(database_url: str, pool_size: int = POOL_SIZE, **settings: Any) -> App:
    """The demo catalog and every generated shopper linked (the streams' pool of
    `pool_size` a shape), on `database_url`."""
    app = open_app(Settings(database_url=database_url, **settings), CLOCK)
    now = CLOCK.now()
    with app.unit_of_work() as uow:
        repo = uow.repository
        repo.upsert_products(feed_row(p).as_values(now) for p in demo_catalog(HOST))
        for shape, network in SHAPES.items():
            for number, (account_id, handle) in enumerate(bench_accounts(shape, 1, pool_size)):
                email = f"{shape}{number}@bench.example"
                repo.add_customer(email, None, now)
                customer_id = repo.customer_id(email)
                assert customer_id is not None
                repo.add_link(customer_id, network, account_id, handle, now)
    return app


_HISTORY_NETWORKS = ("x", "mastodon", "bluesky")


def store_history(app: App, count: int) -> None:
    """A shop's past on PostgreSQL: `count` older posts that none of a bench's posts is or
    replies to, every second one a trigger with its action, then ANALYZE. A shop taking 1,000
    triggers a second is not an empty database: on empty tables the planner's statistics say
    every table is a page or two, the plans the workers' connections keep (psycopg prepares a
    statement after a few runs) are sequential scans, and nothing re-plans them until
    autovacuum analyzes the grown tables, a minute or more later (docs/benchmarks.md,
    "Session 29: the latency bench on a shop with a past")."""
    with app.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO posts (network, post_id, author_id, author_handle, text, "
                "created_at, has_shop_link, parent_id, list_kind) "
                "SELECT (ARRAY['x', 'mastodon', 'bluesky'])[1 + g % 3], 'stored-' || g, "
                "'stored', 'stored', 'an older post', now(), false, "
                "'stored-' || (g / 2), CASE WHEN g % 2 = 0 THEN 'cart' END "
                "FROM generate_series(1, :stored) AS g"
            ),
            {"stored": count},
        )
        connection.execute(
            text(
                "INSERT INTO actions (network, trigger_post_id, outcome, created_at) "
                "SELECT (ARRAY['x', 'mastodon', 'bluesky'])[1 + g % 3], 'stored-' || g, "
                "'added', now() FROM generate_series(2, :stored, 2) AS g"
            ),
            {"stored": count},
        )
        connection.execute(text("ANALYZE"))


def with_history(facts: Facts, count: int) -> Facts:
    """`facts` plus what store_history(count) put in the database."""
    acted = {(_HISTORY_NETWORKS[g % 3], f"stored-{g}") for g in range(2, count + 1, 2)}
    return replace(
        facts,
        acted=facts.acted | acted,
        actions=facts.actions + len(acted),
        posts=facts.posts + count,
    )


def ingest_files(app: App, files: Sequence[Path]) -> None:
    ingestor = Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)
    for path in files:
        with path.open("rb") as stream:
            ingestor.ingest_blocks(str(path), read_blocks(stream))


@dataclass(frozen=True)
class Facts:
    """What a stream left in a database, in terms that do not depend on which process or in
    which order across accounts it was handled."""

    acted: frozenset[tuple[str, str]]  # (network, trigger post id): one action each
    actions: int
    cart: frozenset[tuple[str, str]]  # (customer email, product)
    cart_lines: int
    wishlist: frozenset[tuple[str, str]]
    messages: frozenset[tuple[str, str]]  # (network, in reply to): one message a trigger
    outbox: int
    posts: int
    dead_letters: int


def facts_of(app: App) -> Facts:
    c = t.customers
    with app.engine.connect() as connection:

        def count(table: Any) -> int:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

        acted = connection.execute(select(t.actions.c.network, t.actions.c.trigger_post_id)).all()
        cart = connection.execute(
            select(c.c.email, t.cart_lines.c.product_id).join(
                c, c.c.id == t.cart_lines.c.customer_id
            )
        ).all()
        wish = connection.execute(
            select(c.c.email, t.wishlist_entries.c.product_id).join(
                c, c.c.id == t.wishlist_entries.c.customer_id
            )
        ).all()
        # The engine's messages; a dispatcher running beside it may add emails (a refused
        # reply's fallback), which are the dispatcher's doing, not the engine's.
        engine_made = t.outbox.c.network != "email"
        messages = connection.execute(
            select(t.outbox.c.network, t.outbox.c.in_reply_to).where(engine_made)
        ).all()
        outbox = int(
            connection.execute(
                select(func.count()).select_from(t.outbox).where(engine_made)
            ).scalar_one()
        )
        return Facts(
            acted=frozenset((a, b) for a, b in acted),
            actions=count(t.actions),
            cart=frozenset((a, b) for a, b in cart),
            cart_lines=count(t.cart_lines),
            wishlist=frozenset((a, b) for a, b in wish),
            messages=frozenset((a, b) for a, b in messages),
            outbox=outbox,
            posts=count(t.posts),
            dead_letters=count(t.dead_letters),
        )


def hashcart_env(database_url: str, bus_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHCART_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["HASHCART_DATABASE_URL"] = database_url
    env["HASHCART_BUS_URL"] = bus_url
    # A key of their own: without one, `dispatch` would make its key file in the working
    # directory (a PostgreSQL database has no folder to keep it beside).
    env["HASHCART_TOKEN_KEY"] = Fernet.generate_key().decode()
    # Workers fetch missing parents and follow short links as one process does; the
    # generated streams' bit.ly links and Bluesky's public AppView and PLC directory (on by
    # default) lie off loopback, and the truth (file ingest) follows and fetches nothing. The
    # discard port refuses at once. A test that wants the networks sets them again.
    env["HASHCART_SHORTENER_HOSTS"] = ""
    env["HASHCART_BLUESKY_APPVIEW_URL"] = "http://127.0.0.1:9"
    env["HASHCART_BLUESKY_PLC_URL"] = "http://127.0.0.1:9"
    for name, value in settings.items():
        env[f"HASHCART_{name.upper()}"] = value
    return env


def hashcart(args: Sequence[str], env: dict[str, str], **popen: Any) -> subprocess.Popen[bytes]:
    """`hashcart ARGS` as its own process (the commands that run until a signal)."""
    return subprocess.Popen([sys.executable, "-m", "hashcart", *args], env=env, **popen)


def run_hashcart(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hashcart", *args],
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def differences(app: App, truth_app: App) -> str:
    """What differs between two databases' carts, with each side's actions for those
    customers: the message of a failed comparison."""
    got, want = facts_of(app), facts_of(truth_app)
    emails = {email for email, _ in got.cart ^ want.cart}
    lines = [
        f"only here: {sorted(got.cart - want.cart)}",
        f"only in truth: {sorted(want.cart - got.cart)}",
    ]
    for side, database in (("here", app), ("truth", truth_app)):
        with database.engine.connect() as connection:
            found = connection.execute(
                select(
                    t.customers.c.email,
                    t.actions.c.trigger_post_id,
                    t.actions.c.outcome,
                    t.actions.c.product_id,
                )
                .join(t.customers, t.customers.c.id == t.actions.c.customer_id)
                .where(t.customers.c.email.in_(sorted(emails)))
                .order_by(t.customers.c.email, t.actions.c.id)
            ).all()
        lines += [f"{side}: {tuple(row)}" for row in found]
    return "\n".join(lines)
