"""Issue 12's "Also" from the command line, on a real SQLite file: a feed with variant
columns through `hashcart catalog import`, replies through `hashcart ingest`, and the
`undo_on_delete` setting from the environment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import Result, run_cli
from tests.payloads import SHOP_DID, jetstream_delete, jetstream_post, post_uri

ALICE = "did:plc:alice0000000000000000000"
TEE = "https://shop.example/products/trail-tee"
FEED = f"""id,title,link,price,availability,item_group_id,color,size
tee-red-s,Trail Tee - Red / S,{TEE}?variant=1,25.00 USD,in_stock,TEE1,Red,S
tee-red-m,Trail Tee - Red / M,{TEE}?variant=2,25.00 USD,in_stock,TEE1,Red,M
tee-blue-m,Trail Tee - Blue / M,{TEE}?variant=3,25.00 USD,in_stock,TEE1,Blue,M
"""


def run(tmp_path: Path, *args: str, undo: bool = False) -> Result:
    env = {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    if undo:
        env["HASHCART_UNDO_ON_DELETE"] = "true"
    return run_cli(args, env=env, cwd=tmp_path)


def prepare(tmp_path: Path) -> None:
    (tmp_path / "feed.csv").write_text(FEED)
    assert run(tmp_path, "init").exit_code == 0
    imported = run(tmp_path, "catalog", "import", "feed.csv")
    assert imported.exit_code == 0, imported.stderr
    assert run(tmp_path, "customers", "add", "alice@example.com").exit_code == 0
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


def ingest(tmp_path: Path, name: str, *lines: bytes, undo: bool = False) -> Result:
    (tmp_path / name).write_bytes(b"\n".join(lines) + b"\n")
    result = run(tmp_path, "ingest", name, undo=undo)
    assert result.exit_code == 0, result.stderr
    return result


def cart(tmp_path: Path) -> list[tuple[str, int]]:
    shown = run(tmp_path, "carts", "--json")
    assert shown.exit_code == 0, shown.stderr
    carts = json.loads(shown.stdout)
    return [(line["product_id"], line["quantity"]) for c in carts for line in c["lines"]]


def reply(rkey: str, text: str, minutes: float = 5) -> bytes:
    return jetstream_post(
        ALICE, rkey, text, reply_to=post_uri(SHOP_DID, "3mmbrand00001"), minutes=minutes
    )


BRAND = jetstream_post(SHOP_DID, "3mmbrand00001", f"New tee {TEE}", links=(TEE,))


def test_words_pick_a_variant_and_remove_takes_it_out(tmp_path: Path) -> None:
    prepare(tmp_path)

    ingest(tmp_path, "a.jsonl", BRAND, reply("3mmreply00001", "#cart Blue M x2"))
    assert cart(tmp_path) == [("tee-blue-m", 2)]

    removed = ingest(tmp_path, "b.jsonl", reply("3mmreply00002", "#cart remove blue m", 6))
    assert cart(tmp_path) == []
    assert "lines removed by reply" in removed.stdout

    asked = ingest(tmp_path, "c.jsonl", reply("3mmreply00003", "#cart", 7))
    assert "asked which variant" in asked.stdout
    outbox = run(tmp_path, "outbox", "--json")
    reasons = [m["reason"] for m in json.loads(outbox.stdout)]
    assert reasons == ["added", "removed", "which_variant"]


def test_undo_on_delete_from_the_environment(tmp_path: Path) -> None:
    prepare(tmp_path)
    ingest(tmp_path, "a.jsonl", BRAND, reply("3mmreply00001", "#cart red s"))

    ingest(tmp_path, "b.jsonl", jetstream_delete(ALICE, "3mmreply00001", minutes=9))
    assert cart(tmp_path) == [("tee-red-s", 1)]  # off by default

    undone = ingest(
        tmp_path, "c.jsonl", jetstream_delete(ALICE, "3mmreply00001", minutes=9), undo=True
    )
    assert cart(tmp_path) == []
    assert "undone by deletion" in undone.stdout


def test_a_feed_row_with_an_invisible_character_in_its_size_is_reported(tmp_path: Path) -> None:
    (tmp_path / "feed.csv").write_text(
        FEED
        + f"tee-red-l,Trail Tee - Red / L,{TEE}?variant=4,25.00 USD,in_stock,TEE1,Red,L\u200b\n"
    )
    assert run(tmp_path, "init").exit_code == 0
    imported = run(tmp_path, "catalog", "import", "feed.csv")
    assert "size" in imported.stdout + imported.stderr
    assert "invisible" in imported.stdout + imported.stderr
