"""The command line as scripts use it, on a real SQLite file: commands run in this process
through the real entry point (tests/cli_runner.py); the tests that need real processes (two
at once on one file, a pipe that stays open) start them, and say so."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import Result, run_cli
from tests.harness import PRODUCTS
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.polling import wait_until

HASHCART = [sys.executable, "-m", "hashcart"]
ALICE = "did:plc:alice0000000000000000000"


def run(tmp_path: Path, *args: str, stdin: bytes | None = None) -> Result:
    """`hashcart ARGS` on tmp_path/cli.db, in tmp_path, reading `stdin`."""
    return run_cli(
        args,
        env={"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"},
        input=stdin,
        cwd=tmp_path,
    )


def write_catalog(tmp_path: Path) -> Path:
    feed = tmp_path / "feed.csv"
    rows = ["id,title,link,price,availability"]
    rows += [
        f"{pid},{title},{link},19.99 USD,{availability}"
        for pid, (title, link, availability) in PRODUCTS.items()
    ]
    feed.write_text("\n".join(rows) + "\n")
    return feed


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    assert run(tmp_path, "init").exit_code == 0
    assert run(tmp_path, "catalog", "import", str(write_catalog(tmp_path))).exit_code == 0
    assert run(tmp_path, "customers", "add", "alice@example.com", "--name", "Alice").exit_code == 0
    linked = run(
        tmp_path,
        "links",
        "add",
        "--customer",
        "alice@example.com",
        "--network",
        "bluesky",
        "--account",
        ALICE,
        "--handle",
        "alice.bsky.social",
    )
    assert linked.exit_code == 0, linked.stderr
    return tmp_path


def stream(count: int, prefix: str) -> bytes:
    lines = []
    for n in range(count):
        parent = f"3mm{prefix}b{n:07d}"
        lines.append(
            jetstream_post(
                SHOP_DID,
                parent,
                "mug https://shop.example/products/enamel-mug",
                links=("https://shop.example/products/enamel-mug",),
            )
        )
        lines.append(
            jetstream_post(
                ALICE, f"3mm{prefix}r{n:07d}", "#wishlist", reply_to=post_uri(SHOP_DID, parent)
            )
        )
    return b"\n".join(lines) + b"\n"


def test_ingest_then_carts_json_has_the_documented_shape(shop_dir: Path) -> None:
    (shop_dir / "in.jsonl").write_bytes(
        jetstream_post(
            SHOP_DID, "3mmbrand00001", "mug", links=("https://shop.example/products/enamel-mug",)
        )
        + b"\n"
        + jetstream_post(
            ALICE, "3mmreply00001", "#cart x2", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
        )
        + b"\n"
    )
    ingested = run(shop_dir, "ingest", "in.jsonl")
    assert ingested.exit_code == 0, ingested.stderr
    assert "posts read" in ingested.stdout and "lines added" in ingested.stdout

    carts = json.loads(run(shop_dir, "carts", "--json").stdout)
    assert carts == [
        {
            "customer": "alice@example.com",
            "lines": [
                {
                    "product_id": "mug",
                    "title": "Trailhead Enamel Mug",
                    "quantity": 2,
                    "network": "bluesky",
                    "post_id": post_uri(ALICE, "3mmreply00001"),
                }
            ],
        }
    ]
    [message] = json.loads(run(shop_dir, "outbox", "--json").stdout)
    assert set(message) == {"network", "account_id", "in_reply_to", "reason", "text"}
    assert message["reason"] == "added"


def test_ingest_reads_standard_input_and_keeps_dead_letters_with_file_and_line(
    shop_dir: Path,
) -> None:
    data = b'{"broken": \n' + stream(1, "a")
    ingested = run(shop_dir, "ingest", "-", stdin=data)
    assert ingested.exit_code == 0
    letters = json.loads(run(shop_dir, "deadletters", "--json").stdout)
    assert letters == [{"source": "-", "line": 1, "reason": letters[0]["reason"]}]
    assert "malformed JSON" in letters[0]["reason"]
    assert len(json.loads(run(shop_dir, "wishlists", "--json").stdout)[0]["lines"]) == 1


def test_strict_ingest_exits_1_when_a_line_was_dead_lettered(shop_dir: Path) -> None:
    (shop_dir / "bad.jsonl").write_bytes(b"not json at all\n")
    assert run(shop_dir, "ingest", "--strict", "bad.jsonl").exit_code == 1
    assert run(shop_dir, "ingest", "bad.jsonl").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "missing-file.jsonl"),
        ("ingest", "--format", "myspace", "-"),
        ("carts", "--customer", "nobody@example.com"),
        ("links", "add", "--customer", "nobody@example.com", "--network", "x", "--account", "1"),
        ("catalog", "import", "no-such-feed.csv"),
        ("--config", "no-such-settings.toml", "carts"),
    ],
)
def test_usage_errors_print_a_short_message_and_exit_2(
    shop_dir: Path, args: tuple[str, ...]
) -> None:
    result = run(shop_dir, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 12


def test_two_ingest_processes_on_one_sqlite_file_finish_without_errors_or_duplicates(
    shop_dir: Path,
) -> None:
    # Real processes: two writers at once on one SQLite file is the point (SQLite's locking
    # between processes), and the runner runs one command at a time.
    # Both processes get the same 400 triggers (in the same order) plus 400 of their own.
    shared = stream(400, "s")
    (shop_dir / "one.jsonl").write_bytes(shared + stream(400, "o"))
    (shop_dir / "two.jsonl").write_bytes(shared + stream(400, "t"))
    env = {
        **os.environ,
        "HASHCART_DATABASE_URL": f"sqlite:///{shop_dir / 'cli.db'}",
        "HASHCART_INGEST_BATCH_SIZE": "50",
    }
    processes = [
        subprocess.Popen(
            [*HASHCART, "ingest", name],
            cwd=shop_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("one.jsonl", "two.jsonl")
    ]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else b"") for p in processes]
    for code, stderr in results:
        assert code == 0, stderr.decode()
    # Every product is one wish-list entry; each trigger acted (and was confirmed) once.
    outbox = json.loads(run(shop_dir, "outbox", "--json").stdout)
    assert len(outbox) == 1200
    assert len({m["in_reply_to"] for m in outbox}) == 1200


def test_init_twice_leaves_the_database_current(tmp_path: Path) -> None:
    assert run(tmp_path, "init").exit_code == 0
    again = run(tmp_path, "init")
    assert again.exit_code == 0 and "database ready" in again.stdout


def test_catalog_import_reports_bad_rows_by_line_and_keeps_the_rest(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "mug", "title": "Mug", "link": "https://shop.example/products/mug", '
        '"price": "9.50 USD", "availability": "in_stock"}\n'
        '{"id": "odd", "title": "Odd", "link": "https://shop.example/products/odd", '
        '"price": "9.50 USD", "availability": "someday"}\n'
    )
    result = run(tmp_path, "catalog", "import", str(feed))
    assert result.exit_code == 0
    assert "imported 1 products, skipped 1 rows" in result.stdout
    assert f"{feed}:2: skipped" in result.stderr


def test_a_settings_file_can_rename_the_trigger_tag(shop_dir: Path) -> None:
    (shop_dir / "hashcart.toml").write_text('cart_tags = ["AmazonCart"]\n')
    (shop_dir / "in.jsonl").write_bytes(
        jetstream_post(
            SHOP_DID, "3mmbrand00001", "mug", links=("https://shop.example/products/enamel-mug",)
        )
        + b"\n"
        + jetstream_post(
            ALICE, "3mmreply00001", "#cart", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
        )
        + b"\n"
        + jetstream_post(
            ALICE, "3mmreply00002", "#AmazonCart", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
        )
        + b"\n"
    )
    assert run(shop_dir, "--config", "hashcart.toml", "ingest", "in.jsonl").exit_code == 0
    [cart] = json.loads(run(shop_dir, "carts", "--json").stdout)
    assert [line["post_id"] for line in cart["lines"]] == [post_uri(ALICE, "3mmreply00002")]


def test_demo_runs_with_nothing_set_up_and_fills_carts(tmp_path: Path) -> None:
    result = run_cli(["demo"], cwd=tmp_path)  # no HASHCART_* setting at all
    assert result.exit_code == 0, result.stderr
    assert "carts" in result.stdout and "queued messages" in result.stdout
    demo_db = f"sqlite:///{tmp_path / 'hashcart-demo.db'}"
    carts = json.loads(run(tmp_path, "--db", demo_db, "carts", "--json").stdout)
    assert sum(len(cart["lines"]) for cart in carts) >= 10
    reasons = {
        m["reason"] for m in json.loads(run(tmp_path, "--db", demo_db, "outbox", "--json").stdout)
    }
    assert {"added", "link_needed", "pending_applied", "already_in_cart"} <= reasons
    assert json.loads(run(tmp_path, "--db", demo_db, "deadletters", "--json").stdout) == []


def test_the_demo_answers_maya_s_order_question_privately(tmp_path: Path) -> None:
    """Issue 12: `hashcart demo` shows an `#order` answer. Maya pays for a bag between the
    stream's halves and asks `@trailhead_coffee #order` on Mastodon in the second half: a
    direct status lists her order, never a public reply."""
    assert run_cli(["demo"], cwd=tmp_path).exit_code == 0
    demo_db = f"sqlite:///{tmp_path / 'hashcart-demo.db'}"
    messages = json.loads(run(tmp_path, "--db", demo_db, "outbox", "--json").stdout)
    [answer] = [m for m in messages if m["reason"] == "order_status"]
    assert answer["network"] == "mastodon"
    with sqlite3.connect(tmp_path / "hashcart-demo.db") as connection:
        [(channel,)] = connection.execute(
            "SELECT channel FROM outbox WHERE reason = 'order_status'"
        ).fetchall()
    assert channel == "private"  # a direct status, not a public reply
    orders = json.loads(run(tmp_path, "--db", demo_db, "orders", "--json").stdout)
    # Maya has more than one order (the demo also buys with a post for her): the answer
    # names hers, and only hers.
    mayas = {o["id"] for o in orders if o["email"] == "maya.okafor@example.com"}
    named = {o["id"] for o in orders if f"order {o['id']}," in answer["text"]}
    assert named and named <= mayas
    assert "paid" in answer["text"]


def test_a_database_that_cannot_be_opened_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = run(tmp_path, "--db", f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}", "carts")
    assert result.exit_code == 1
    assert result.stderr.startswith("hashcart: error: database:")
    assert "Traceback" not in result.stderr


def test_a_live_pipe_is_acted_on_as_lines_arrive_not_at_its_end(shop_dir: Path) -> None:
    # A real process: the point is a pipe that stays open, which only a process's standard
    # input can be (in this process the input is a buffer with an end).
    env = {**os.environ, "HASHCART_DATABASE_URL": f"sqlite:///{shop_dir / 'cli.db'}"}
    process = subprocess.Popen(
        [*HASHCART, "ingest", "-"],
        cwd=shop_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(stream(1, "live"))
    process.stdin.flush()  # the pipe stays open: hashcart cannot have seen its end

    def acted() -> bool:
        assert process.poll() is None, "ingest ended although its pipe is still open"
        with sqlite3.connect(shop_dir / "cli.db") as db:
            found: int = db.execute("SELECT count(*) FROM wishlist_entries").fetchone()[0]
        return found == 1

    try:
        wait_until(acted, "the trigger acts while the pipe is still open", deadline=120)
    finally:
        process.stdin.close()
    assert process.wait(timeout=120) == 0
