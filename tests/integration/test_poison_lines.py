"""One poison payload never stops a source: it is dead-lettered with its reason, once, and the
rest of its batch commits. On SQLite and PostgreSQL, through files, the CLI and webhooks (the
live listener's case is in tests/networks/bluesky/test_jetstream.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.networks import formats
from hashcart.networks.mastodon import webhook as mastodon_webhook
from hashcart.networks.x.webhook import CONSUMER_SIGNATURE_HEADER, signature
from hashcart.services import actions
from hashcart.services import ingest as ingest_module
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.sources import read_blocks
from hashcart.store import schema as t
from hashcart.web import create_app
from tests import hostile
from tests.cli_runner import run_cli
from tests.harness import Shop
from tests.payloads import jetstream_post, mastodon_status, post_uri, x_tweet

ALICE_DID = "did:plc:alice0000000000000000000"
DAN_DID = "did:plc:dan00000000000000000000000"  # never linked
MUG = hostile.MUG


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    hostile.link_shoppers(shop)
    return shop


def ingest_file(shop: Shop, path: Path, batch_size: int = 1000) -> IngestStats:
    ingestor = Ingestor(
        shop.app.unit_of_work,
        shop.app.shop(),
        shop.clock,
        reader=shop.app.payload_reader,
        batch_size=batch_size,
    )
    with path.open("rb") as stream:
        ingestor.ingest_blocks(str(path), read_blocks(stream))
    return ingestor.stats


def acted_on(shop: Shop) -> set[tuple[Network, str]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.actions.c.network, t.actions.c.trigger_post_id))
        return {(Network(row[0]), row[1]) for row in rows}


def count(shop: Shop, table: Any) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def letters(shop: Shop) -> list[dict[str, Any]]:
    """The dead letters as stored, excerpts too."""
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.dead_letters).order_by(t.dead_letters.c.id))
        return [dict(row._mapping) for row in rows]


def adds_up(stats: IngestStats) -> bool:
    return stats.lines == stats.posts + stats.skipped + stats.dead_letters


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# --- the hostile corpus ---------------------------------------------------------------------


def test_a_hostile_corpus_leaves_no_valid_trigger_behind(shop: Shop, tmp_path: Path) -> None:
    corpus = hostile.build(hostile_target=2000)
    assert corpus.hostile >= 2000 and len(corpus.valid_triggers) == 120
    feed = write(tmp_path / "hostile.jsonl", corpus.lines)

    stats = ingest_file(shop, feed)

    assert set(corpus.valid_triggers) <= acted_on(shop)
    for n in range(hostile.SHOPPERS_PER_NETWORK):
        assert dict(shop.cart(f"shopper{n}@example.com")).keys() == {"mug", "beans"}
    assert stats.lines == len(corpus.lines)
    assert adds_up(stats), stats
    kept = count(shop, t.dead_letters)
    assert kept > 1000 and stats.dead_letters >= kept

    # A rerun reads the same lines, acts on nothing twice and keeps no dead letter twice.
    again = ingest_file(shop, feed)
    assert count(shop, t.dead_letters) == kept
    assert again.actions.lines_added == 0 and adds_up(again)


def test_a_failure_nothing_foresaw_is_isolated_to_its_post(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second line of defence: with the decode-time checks and the date clamp switched
    off, what the database or the engine refuses is found by splitting the batch, and only
    that post is dead-lettered."""
    monkeypatch.setattr(formats, "problem_of", lambda event: None)
    now = shop.clock.now()
    monkeypatch.setattr(ingest_module, "MAX_CLOCK_SKEW", datetime.max.replace(tzinfo=UTC) - now)
    monkeypatch.setattr(actions, "_plus", lambda moment, span: moment + span)
    far_future = jetstream_post(
        DAN_DID,
        "3mdanfuture01",
        "#cart",
        tags=("cart",),
        reply_to=post_uri(hostile.BLUESKY_SHOP, hostile.BLUESKY_PARENTS[0]),
    )
    record = json.loads(far_future)
    record["commit"]["record"]["createdAt"] = "9999-12-25T00:00:00.000Z"
    record["time_us"] = None  # so the decoder keeps the claim
    poison = [json.dumps(record).encode()]
    corpus = hostile.build(hostile_target=0, valid_per_network=30)
    lines = corpus.lines[:6] + poison + corpus.lines[6:]

    stats = ingest_file(shop, write(tmp_path / "feed.jsonl", lines))

    assert set(corpus.valid_triggers) <= acted_on(shop)
    [letter] = shop.dead_letters()
    assert letter["line"] == 7 and "OverflowError" in letter["reason"]
    assert adds_up(stats) and stats.dead_letters == 1


@pytest.mark.postgres
def test_postgresql_refusals_nothing_foresaw_are_isolated_too(
    postgres_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.databases import fresh_postgres_database

    shop = Shop(fresh_postgres_database(postgres_server))
    hostile.link_shoppers(shop)
    monkeypatch.setattr(formats, "problem_of", lambda event: None)
    parent = hostile.X_PARENTS[0]
    cart = ("cart",)
    nul_text = x_tweet(
        "1999000000000000001", "7001", "mal", "#cart \x00", reply_to=parent, hashtags=cart
    )
    long_id = x_tweet("1" * 400, "7002", "mal", "#cart", reply_to=parent, hashtags=cart)
    corpus = hostile.build(hostile_target=0, valid_per_network=30)
    lines = [*corpus.lines[:6], nul_text, *corpus.lines[6:50], long_id, *corpus.lines[50:]]

    stats = ingest_file(shop, write(tmp_path / "feed.jsonl", lines))

    assert set(corpus.valid_triggers) <= acted_on(shop)
    reasons = {letter["line"]: letter["reason"] for letter in shop.dead_letters()}
    assert set(reasons) == {7, 52}
    assert "NUL" in reasons[7] and "too long" in reasons[52]
    assert adds_up(stats)


# --- each cause, with a valid trigger in the same batch --------------------------------------


def _changed(line: bytes, changes: dict[str, Any]) -> bytes:
    """`line` with fields replaced: `user__id_str=v` sets payload["user"]["id_str"]."""
    payload = json.loads(line)
    for path, value in changes.items():
        hostile.set_field(payload, tuple(path.split("__")), value)
    return json.dumps(payload).encode()


def _x(post_id: str = "1999000000000000001", **changes: Any) -> bytes:
    parent = hostile.X_PARENTS[0]
    line = x_tweet(post_id, "7001", "mallory", "#cart", reply_to=parent, hashtags=("cart",))
    return _changed(line, changes)


def _mastodon(**changes: Any) -> bytes:
    line = mastodon_status(
        "130000000000000001",
        "https://evil.example/users/mallory",
        "mallory@evil.example",
        "<p>#cart</p>",
        reply_to=hostile.MASTODON_PARENTS[0],
        tags=("cart",),
    )
    return _changed(line, changes)


def _bluesky(rkey: str = "3mmallory0001", did: str = DAN_DID, **record_changes: Any) -> bytes:
    event = json.loads(
        jetstream_post(
            did,
            rkey,
            "#cart",
            tags=("cart",),
            reply_to=post_uri(hostile.BLUESKY_SHOP, hostile.BLUESKY_PARENTS[0]),
        )
    )
    event["commit"]["record"].update(record_changes)
    return json.dumps(event).encode()


CAUSES: dict[str, tuple[bytes, str]] = {
    "raw NUL in a line": (_x().replace(b'"#cart"', b'"#cart \x00"'), "malformed"),
    "NUL in X text": (_x(text="#cart \x00"), "text contains a NUL character"),
    "NUL in X handle": (_x(user__screen_name="mal\x00lory"), "handle contains a NUL"),
    "NUL in X post id": (_x(id_str="19990\x0000"), "post id contains a NUL"),
    "NUL in Mastodon handle": (_mastodon(account__acct="mal\x00lory"), "handle contains a NUL"),
    "NUL in Bluesky text": (_bluesky(text="#cart \x00"), "text contains a NUL"),
    "X post id over 300": (_x(id_str="1" * 301), "longer than 300"),
    "X parent id over 300": (_x(in_reply_to_status_id_str="1" * 301), "longer than 300"),
    "X author id over 300": (_x(user__id_str="2" * 301), "longer than 300"),
    "X id not a number": (_x(id_str="19990abc"), "is not a decimal number"),
    "Mastodon post id over 300": (_mastodon(id="1" * 301), "longer than 300"),
    "Mastodon account URI over 300": (
        _mastodon(account__uri="https://evil.example/users/" + "a" * 300),
        "author id longer than 300",
    ),
    "Mastodon parent id over 300": (_mastodon(in_reply_to_id="9" * 301), "longer than 300"),
    "Bluesky rkey over 512": (_bluesky(rkey="a" * 513), "longer than 300"),
    "Bluesky rkey of dots": (_bluesky(rkey=".."), "is not at://"),
    "Bluesky rkey past the id column": (_bluesky(rkey="a" * 400), "longer than 300"),
    "Bluesky DID over 300": (_bluesky(did="did:web:" + "a" * 300 + ".example"), "longer than"),
    "Mastodon dated year 1": (_mastodon(created_at="0001-01-01T00:00:00.000Z"), "impossible date"),
    "X dated year 1": (_x(created_at="Mon Jan 01 00:00:00 +0000 0001"), "impossible date"),
}


@pytest.mark.parametrize("cause", sorted(CAUSES))
def test_each_poison_is_dead_lettered_and_the_valid_trigger_beside_it_acts(
    shop: Shop, cause: str
) -> None:
    poison, reason = CAUSES[cause]
    valid, valid_id = hostile.valid_reply(Network.X, 0)

    stats = shop.ingest([*hostile.shop_posts(), poison, valid])

    assert (Network.X, valid_id) in acted_on(shop)
    assert shop.cart("shopper0@example.com") == [("mug", 1)]
    [letter] = letters(shop)
    assert letter["line"] == 7 and reason in letter["reason"], letter
    assert "\x00" not in letter["excerpt"] + letter["reason"]
    assert adds_up(stats) and stats.dead_letters == 1


@pytest.mark.parametrize(
    "network", [Network.X, Network.MASTODON, Network.BLUESKY], ids=lambda n: n.value
)
def test_a_trigger_dated_in_year_9999_from_an_unlinked_account_waits_dated_now(
    shop: Shop, network: Network
) -> None:
    """Any Bluesky user sets their own createdAt; year 9999 overflowed the pending expiry."""
    if network is Network.X:
        poison = _x(created_at="Sat Dec 25 00:00:00 +0000 9999")
    elif network is Network.MASTODON:
        poison = _mastodon(created_at="9999-12-25T00:00:00.000Z")
    else:
        poison = _bluesky(createdAt="9999-12-25T00:00:00.000Z")
    valid, _ = hostile.valid_reply(Network.X, 0)

    stats = shop.ingest([*hostile.shop_posts(), poison, valid])

    assert shop.cart("shopper0@example.com") == [("mug", 1)]
    [waiting] = shop.pending()
    now = shop.clock.now()
    expires = datetime.fromisoformat(waiting["expires_at"])
    assert expires <= now + timedelta(days=8)
    assert shop.dead_letters() == [] and adds_up(stats)


# --- dead letters are kept once ---------------------------------------------------------------


def test_a_rerun_of_a_file_adds_no_dead_letter(shop: Shop, tmp_path: Path) -> None:
    feed = write(tmp_path / "feed.jsonl", [b"{broken", CAUSES["NUL in X text"][0], b"\xff{}"])
    first = ingest_file(shop, feed)
    second = ingest_file(shop, feed)
    assert first.dead_letters == second.dead_letters == 3
    assert len(shop.dead_letters()) == 3


def test_the_same_bad_line_in_another_file_or_place_is_kept_again(
    shop: Shop, tmp_path: Path
) -> None:
    ingest_file(shop, write(tmp_path / "a.jsonl", [b"{broken"]))
    ingest_file(shop, write(tmp_path / "b.jsonl", [b"{broken"]))
    ingest_file(shop, write(tmp_path / "c.jsonl", [b"{}", b"{broken"]))
    assert sorted((Path(d["source"]).name, d["line"]) for d in shop.dead_letters()) == [
        ("a.jsonl", 1),
        ("b.jsonl", 1),
        ("c.jsonl", 2),
    ]


# --- the summary adds up ----------------------------------------------------------------------


def test_the_cli_summary_adds_up_lines_including_those_over_a_mebibyte(
    shop: Shop, tmp_path: Path
) -> None:
    identity = b'{"did":"did:plc:alice0000000000000000000","time_us":1,"kind":"identity"}'
    lines = [
        *hostile.shop_posts(),
        hostile.valid_reply(Network.X, 0)[0],
        identity,
        b"{broken",
        b'{"text": "' + b"a" * (1024 * 1024 + 1) + b'"}',
        CAUSES["NUL in X text"][0],
        b"",
    ]
    feed = write(tmp_path / "feed.jsonl", lines)
    env = {"HASHCART_DATABASE_URL": shop.app.settings.database_url}
    result = run_cli(["ingest", str(feed)], env=env, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = [line.split("│")[1:3] for line in result.stdout.splitlines() if "│" in line]
    numbers = {label.strip(): int(value.strip().replace(",", "")) for label, value in rows}
    assert numbers["lines read"] == 11  # the blank line is not one
    assert (numbers["posts read"], numbers["skipped"], numbers["dead-lettered"]) == (7, 1, 3)


# --- webhooks -----------------------------------------------------------------------------------


def test_a_mastodon_webhook_body_that_breaks_the_limits_is_kept_once_and_the_next_acts(
    database_url: str,
) -> None:
    secret = "0123456789abcdef0123456789abcdef01234567"
    shop = Shop(database_url, mastodon_webhook_secret=secret)
    hostile.link_shoppers(shop)
    client = TestClient(create_app(shop.app), base_url="http://127.0.0.1")

    def deliver(status: bytes) -> Any:
        body = json.dumps(
            {
                "event": "status.created",
                "created_at": "2026-11-20T12:01:00.000Z",
                "object": json.loads(status),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            mastodon_webhook.SIGNATURE_HEADER: mastodon_webhook.signature(secret, body),
        }
        return client.post("/webhooks/mastodon", content=body, headers=headers)

    with client:
        for post in hostile.shop_posts()[2:4]:
            assert deliver(post).status_code == 200
        poison = CAUSES["NUL in Mastodon handle"][0]
        first, again = deliver(poison), deliver(poison)
        valid, _ = hostile.valid_reply(Network.MASTODON, 0)
        after = deliver(valid)

    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["dead_letters"] == 1
    assert len(shop.dead_letters()) == 1
    assert after.status_code == 200
    assert shop.cart("shopper0@example.com") == [("mug", 1)]


def test_an_x_webhook_delivery_that_breaks_the_limits_is_answered_and_kept_once(
    database_url: str,
) -> None:
    secret = "consumer-secret-for-tests"
    shop = Shop(database_url, x_consumer_secret=secret)
    hostile.link_shoppers(shop)
    client = TestClient(create_app(shop.app), base_url="http://127.0.0.1")

    def deliver(*tweets: bytes) -> int:
        body = json.dumps(
            {
                "for_user_id": hostile.X_SHOP_ID,
                "tweet_create_events": [json.loads(tweet) for tweet in tweets],
            }
        ).encode()
        headers = {
            "content-type": "application/json",
            CONSUMER_SIGNATURE_HEADER: signature(body, secret),
        }
        return client.post("/webhooks/x", content=body, headers=headers).status_code

    with client:
        assert deliver(*hostile.shop_posts()[:2]) == 200
        poison = CAUSES["NUL in X text"][0]
        assert deliver(poison) == 200
        assert deliver(poison) == 200
        valid, valid_id = hostile.valid_reply(Network.X, 0)
        assert deliver(valid) == 200

    assert len(shop.dead_letters()) == 1
    assert (Network.X, valid_id) in acted_on(shop)
    assert shop.cart("shopper0@example.com") == [("mug", 1)]
