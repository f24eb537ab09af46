"""Loading offers by hashtag (issue 12) on SQLite and PostgreSQL, through the networks' real
payload shapes (tests/payloads: X v1.1 tweets, Mastodon Status entities, Jetstream commits):

- a linked shopper posting an offer's tag loads it (`offer_loaded`), once per account
  (`offer_already_loaded`), first come by the post's own time up to the limit
  (`offer_exhausted`), never after expiry (`offer_expired`); a paused offer loads nothing
  and answers nothing;
- an unlinked account's post waits (link_needed) and loads when the account links;
- the offer tags are data the shop reads with the catalog: the prefilter, X's stream
  rules and Mastodon's hashtag streams hear them; X's rule asks for them only in posts that
  reach the shop, and an offer that is over (expired, all taken) leaves the streams at the
  next shop load, though a late post of it is still answered.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.mastodon.stream import streams_for
from hashcart.networks.prefilter import Prefilter
from hashcart.networks.x.stream import desired_rules
from hashcart.services.offers import add_offer, set_paused
from hashcart.store import schema as t
from tests.harness import Shop
from tests.integration.social import SHOPPERS, UNLINKED, Shopper
from tests.payloads import BASE_TIME, jetstream_post, mastodon_status, x_tweet

ALICE = "alice@example.com"
NETWORKS = sorted(SHOPPERS)


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url, shop_accounts=("x:trailhead",))
    for shopper in SHOPPERS.values():
        shop.customer(ALICE, (shopper.network, shopper.account_id, shopper.handle))
    return shop


def offer(shop: Shop, tag: str = "summer20", **terms: Any) -> int:
    if "percent" not in terms and "amount" not in terms:
        terms["percent"] = "20"
    made = add_offer(shop.app.unit_of_work, shop.app.settings, shop.clock.now(), tag=tag, **terms)
    return made.id


def post(shopper: Shopper, key: str, text: str, minutes: float = 5) -> bytes:
    """`shopper`'s own post (not a reply) saying `text`, as their network writes it."""
    tags = tuple(word[1:] for word in text.split() if word.startswith("#"))
    if shopper.network is Network.BLUESKY:
        return jetstream_post(shopper.account_id, key, text, minutes=minutes)
    if shopper.network is Network.X:
        return x_tweet(
            key, shopper.account_id, shopper.handle, text, hashtags=tags, minutes=minutes
        )
    words = [
        f'<a href="https://social.example/tags/{w[1:]}" class="mention hashtag" rel="tag">'
        f"#<span>{html.escape(w[1:])}</span></a>"
        if w.startswith("#")
        else html.escape(w)
        for w in text.split()
    ]
    return mastodon_status(
        key,
        shopper.account_id,
        shopper.handle,
        f"<p>{' '.join(words)}</p>",
        tags=tags,
        minutes=minutes,
    )


def _x_rules(engine_shop: Any) -> list[Any]:
    """The X stream rules the engine's shop asks for, the shop's handle being `trailhead`."""
    return desired_rules(
        engine_shop.reply_tags,
        engine_shop.post_tags,
        "trailhead",
        engine_shop.addressed_tags,
        engine_shop.offer_tags,
    )


def loads(shop: Shop) -> list[dict[str, Any]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.offer_loads).order_by(t.offer_loads.c.id))
        return [dict(row._mapping) for row in rows]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_linked_shopper_posting_the_tag_loads_the_offer(shop: Shop, network: str) -> None:
    offer_id = offer(shop)
    shopper = SHOPPERS[network]
    key = shopper.key()
    shop.ingest([post(shopper, key, "sunny day #summer20 please")])

    [load] = loads(shop)
    assert (load["offer_id"], load["status"]) == (offer_id, "loaded")
    assert load["network"] == network and load["account_id"] == shopper.account_id
    assert load["trigger_post_id"] == shopper.post_id(key)
    assert load["posted_at"] == BASE_TIME + timedelta(minutes=5)  # the network's own time
    [message] = shop.outbox()
    assert message["reason"] == "offer_loaded"
    assert message["in_reply_to"] == shopper.post_id(key)
    assert "20% off" in message["text"]
    # Our answer names the offer, but never as a tag that could load it again.
    assert "#summer20" not in message["text"]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_reply_to_the_shops_offer_post_loads_it_and_names_that_post(
    shop: Shop, network: str
) -> None:
    offer(shop)
    shopper = SHOPPERS[network]
    key = shopper.key()
    shop.ingest([shopper.reply(key, "4100", "#summer20 yes please")])

    [load] = loads(shop)
    assert load["status"] == "loaded"
    parent = shopper.post_id("4100") if network != "bluesky" else load["parent_post_id"]
    assert load["parent_post_id"] == parent and parent is not None
    assert shop.reasons() == ["offer_loaded"]


def test_the_tag_matches_in_any_case_and_width(shop: Shop) -> None:
    offer(shop, "Summer20")
    shopper = SHOPPERS["mastodon"]
    shop.ingest([post(shopper, shopper.key(), "#SUMMER20")])
    assert [load["status"] for load in loads(shop)] == ["loaded"]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_second_post_of_the_same_account_is_already_loaded(shop: Shop, network: str) -> None:
    offer(shop)
    shopper = SHOPPERS[network]
    first, second = shopper.key(), shopper.key()
    shop.ingest([post(shopper, first, "#summer20")])
    shop.ingest([post(shopper, second, "#summer20 again", minutes=9)])

    assert len(loads(shop)) == 1
    assert shop.reasons() == ["offer_loaded", "offer_already_loaded"]


def test_one_customer_loads_an_offer_once_across_their_accounts(shop: Shop) -> None:
    offer(shop)
    x, bluesky = SHOPPERS["x"], SHOPPERS["bluesky"]
    shop.ingest([post(x, x.key(), "#summer20"), post(bluesky, bluesky.key(), "#summer20", 7)])

    assert [load["network"] for load in loads(shop)] == ["x"]
    assert shop.reasons() == ["offer_loaded", "offer_already_loaded"]


@pytest.mark.parametrize("network", NETWORKS)
def test_the_same_post_delivered_again_changes_nothing(shop: Shop, network: str) -> None:
    offer(shop)
    shopper = SHOPPERS[network]
    line = post(shopper, shopper.key(), "#summer20")
    shop.ingest([line])
    shop.ingest([line, line])

    assert len(loads(shop)) == 1
    assert shop.reasons() == ["offer_loaded"]


def test_the_limit_goes_to_the_first_posts_by_their_own_time_within_a_batch(
    database_url: str,
) -> None:
    shop = Shop(database_url)
    shoppers = [Shopper(Network.X, str(7000 + n), f"fan{n}") for n in range(4)]
    for n, shopper in enumerate(shoppers):
        shop.customer(f"fan{n}@example.com", (shopper.network, shopper.account_id, shopper.handle))
    offer(shop, limit=2)
    # Delivered newest first: minutes 9, 7, 3, 5.
    lines = [
        post(shoppers[0], "8000", "#summer20", minutes=9),
        post(shoppers[1], "8001", "#summer20", minutes=7),
        post(shoppers[2], "8002", "#summer20", minutes=3),
        post(shoppers[3], "8003", "#summer20", minutes=5),
    ]
    shop.ingest(lines)

    assert sorted(load["account_id"] for load in loads(shop)) == ["7002", "7003"]
    by_post = {m["in_reply_to"]: m["reason"] for m in shop.outbox()}
    assert by_post == {
        "8002": "offer_loaded",
        "8003": "offer_loaded",
        "8001": "offer_exhausted",
        "8000": "offer_exhausted",
    }
    # All taken: at the next shop load no stream asks for the tag any more, but a post of
    # it that still comes (the prefilter hears every offer's tag) is answered.
    engine_shop = shop.app.shop()
    assert "summer20" not in engine_shop.every_tag and engine_shop.offer_tags == ()
    assert engine_shop.every_word.kind_of("summer20") == "offer"
    shop.ingest([post(shoppers[0], "8004", "#summer20", minutes=12)])
    assert shop.reasons().count("offer_exhausted") == 3


def test_across_batches_the_limit_goes_by_commit_order(database_url: str) -> None:
    shop = Shop(database_url)
    late, early = Shopper(Network.X, "7100", "late"), Shopper(Network.X, "7101", "early")
    for shopper in (late, early):
        shop.customer(f"{shopper.handle}@example.com", (Network.X, shopper.account_id, "h"))
    offer(shop, limit=1)
    shop.ingest([post(late, "8100", "#summer20", minutes=9)])
    shop.ingest([post(early, "8101", "#summer20", minutes=1)])  # earlier post, later batch

    assert [load["account_id"] for load in loads(shop)] == ["7100"]
    assert shop.reasons() == ["offer_loaded", "offer_exhausted"]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_post_after_the_expiry_gets_offer_expired(shop: Shop, network: str) -> None:
    ends = (BASE_TIME + timedelta(minutes=10)).isoformat()
    shop.clock.advance(timedelta(hours=-1))  # the merchant made it before the posts
    offer(shop, expires=ends)
    shop.clock.advance(timedelta(hours=1))
    shopper = SHOPPERS[network]
    shop.ingest([post(shopper, shopper.key(), "#summer20", minutes=11)])

    assert loads(shop) == []
    assert shop.reasons() == ["offer_expired"]


def test_an_expired_offer_leaves_the_streams_at_the_next_shop_load(shop: Shop) -> None:
    ends = shop.clock.now() + timedelta(minutes=10)
    offer(shop, expires=ends.isoformat())
    offer(shop, "spring5", percent="5")
    assert shop.app.shop().offer_tags == ("summer20", "spring5")
    shop.clock.advance(timedelta(minutes=10))
    engine_shop = shop.app.shop()
    assert engine_shop.offer_tags == ("spring5",)
    assert "summer20" not in engine_shop.every_tag
    assert "mastodon:tag:summer20" not in [s.cursor for s in streams_for(engine_shop)]
    rules = _x_rules(engine_shop)
    assert not any("summer20" in rule.value for rule in rules)
    # A late post with the tag is still heard and told the offer ended.
    assert Prefilter.for_shop(engine_shop.every_word, engine_shop.hosts).wants(b'"#summer20"')
    shopper = SHOPPERS["x"]
    shop.ingest([post(shopper, shopper.key(), "#summer20", minutes=70)])
    assert shop.reasons() == ["offer_expired"]


def test_a_post_before_the_expiry_loads_though_it_arrives_after_it(shop: Shop) -> None:
    ends = (BASE_TIME + timedelta(minutes=10)).isoformat()
    shop.clock.advance(timedelta(hours=-1))  # the merchant made it before the posts
    offer(shop, expires=ends)
    shop.clock.advance(timedelta(hours=1))
    shopper = SHOPPERS["bluesky"]
    shop.ingest([post(shopper, shopper.key(), "#summer20", minutes=9)])

    assert [load["status"] for load in loads(shop)] == ["loaded"]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_paused_offer_loads_nothing_and_says_nothing(shop: Shop, network: str) -> None:
    offer_id = offer(shop)
    shopper = SHOPPERS[network]
    # A shop loaded while the offer was on (a live stream re-reads it every few minutes).
    engine_shop = shop.app.shop()
    set_paused(shop.app.unit_of_work, offer_id, True)
    from hashcart.services.ingest import Ingestor

    ingestor = Ingestor(
        shop.app.unit_of_work, engine_shop, shop.clock, reader=shop.app.payload_reader
    )
    ingestor.ingest_lines("t.jsonl", [post(shopper, shopper.key(), "#summer20")])

    assert loads(shop) == [] and shop.outbox() == []
    # Paused, its tag leaves what the streams hear; resumed, it is back.
    assert "summer20" not in shop.app.shop().every_tag
    set_paused(shop.app.unit_of_work, offer_id, False)
    assert "summer20" in shop.app.shop().every_tag


def test_the_shops_own_offer_post_loads_nothing(shop: Shop) -> None:
    offer(shop)
    own = x_tweet("8200", "900", "trailhead", "Post #summer20: 20% off!", hashtags=("summer20",))
    shop.ingest([own])
    assert loads(shop) == [] and shop.outbox() == []


@pytest.mark.parametrize("network", NETWORKS)
def test_an_unlinked_account_waits_and_loads_on_linking(shop: Shop, network: str) -> None:
    offer(shop)
    stranger = UNLINKED[network]
    key = stranger.key()
    shop.ingest([post(stranger, key, "#summer20")])

    [waiting] = loads(shop)
    assert (waiting["status"], waiting["customer_id"]) == ("pending", None)
    assert shop.reasons() == ["link_needed"]

    shop.customer("bob@example.com", (stranger.network, stranger.account_id, stranger.handle))
    [load] = loads(shop)
    assert load["status"] == "loaded" and load["customer_id"] is not None
    assert shop.reasons() == ["link_needed", "offer_loaded"]
    assert shop.outbox()[-1]["in_reply_to"] == stranger.post_id(key)


def test_an_unlinked_request_links_too_late_and_expires(shop: Shop) -> None:
    offer(shop)
    stranger = UNLINKED["x"]
    shop.ingest([post(stranger, stranger.key(), "#summer20")])
    shop.clock.advance(timedelta(days=8))
    shop.customer("bob@example.com", (stranger.network, stranger.account_id, stranger.handle))

    assert [load["status"] for load in loads(shop)] == ["expired"]
    assert shop.reasons() == ["link_needed"]


def test_a_reply_with_cart_and_offer_tags_does_both(shop: Shop) -> None:
    offer(shop)
    shopper = SHOPPERS["x"]
    mug = "https://shop.example/products/enamel-mug"
    shop.ingest([shopper.parent("4300", (mug,)), shopper.reply("4301", "4300", "#cart #summer20")])

    assert shop.cart(ALICE) == [("mug", 1)]
    assert [load["status"] for load in loads(shop)] == ["loaded"]
    assert sorted(shop.reasons()) == ["added", "offer_loaded"]


def test_the_streams_hear_the_offer_tags(shop: Shop) -> None:
    offer(shop)
    engine_shop = shop.app.shop()
    assert "summer20" in engine_shop.every_tag and engine_shop.offer_tags == ("summer20",)
    # Not in the untargeted link rule, `(#cartlink OR #summer20) -is:retweet`, as it was.
    assert "summer20" not in engine_shop.post_tags
    rules = _x_rules(engine_shop)
    assert [rule.value for rule in rules if "#summer20" in rule.value] == [
        "#summer20 (to:trailhead OR @trailhead) -is:retweet"
    ]
    assert "#cartlink -is:retweet" in [rule.value for rule in rules]
    assert "mastodon:tag:summer20" in [stream.cursor for stream in streams_for(engine_shop)]
    prefilter = Prefilter.for_shop(engine_shop.every_word, engine_shop.hosts)
    assert prefilter.wants(b'{"text":"sunny #Summer20 day"}')
    assert not prefilter.wants(b'{"text":"sunny #summer day"}')


def test_an_offer_tag_another_kind_was_given_later_stays_that_kinds(shop: Shop) -> None:
    offer(shop, "grab")
    # The console later makes `grab` a cart tag: the shop still loads, `grab` is the cart's.
    from hashcart.services.shop import Shop as EngineShop
    from hashcart.store.repository import transaction

    settings = shop.app.settings.model_copy(update={"cart_tags": ("grab",)})
    with transaction(shop.app.engine) as repo:
        engine_shop = EngineShop.load(settings, repo)
    assert engine_shop.every_word.kind_of("grab") == "cart"
    assert engine_shop.every_word.tags_of("offer") == ()


@pytest.mark.parametrize("how", ["private_message", "email_only"])
def test_the_answer_goes_on_the_shoppers_chosen_channel(shop: Shop, how: str) -> None:
    from sqlalchemy import update

    with shop.app.engine.begin() as connection:
        connection.execute(update(t.customers).values(notify_by=how))
    offer(shop)
    shopper = SHOPPERS["mastodon"]
    shop.ingest([post(shopper, shopper.key(), "#summer20")])

    with shop.app.engine.connect() as connection:
        [message] = [dict(row._mapping) for row in connection.execute(select(t.outbox))]
    assert message["reason"] == "offer_loaded"
    if how == "email_only":
        assert message["network"] == "email" and message["account_id"] == ALICE
    else:
        assert (message["network"], message["channel"]) == ("mastodon", "private")


@pytest.mark.parametrize("network", NETWORKS)
def test_hostile_offer_posts_are_dead_lettered_or_ignored_and_the_rest_loads(
    shop: Shop, network: str
) -> None:
    offer(shop)
    shopper = SHOPPERS[network]
    hostile = [
        post(shopper, shopper.key(), "#summer20\x00 <script>alert(1)</script>"),
        post(shopper, shopper.key(), "#sum\u200bmer20"),  # a zero-width space: another tag
        post(shopper, shopper.key(), "#summer20" + " x" * 20_000),  # a huge post
        b'{"text":"#summer20 \xff\xfe"}',  # invalid UTF-8
        post(Shopper(shopper.network, "9" * 400, "long"), "8" * 40, "#summer20"),
    ]
    shop.ingest(hostile)
    loaded = loads(shop)
    # At most the linked shopper's one load; never a load for a stranger's overlong id.
    assert [load["account_id"] for load in loaded] in ([], [shopper.account_id])
    for message in shop.outbox():
        assert "<script>" not in message["text"] or message["reason"] != "offer_loaded"
        assert "\x00" not in message["text"]
    good = shopper.key()
    shop.ingest([post(shopper, good, "#summer20")])
    assert len(loads(shop)) == 1  # whichever post loaded it, once


def test_the_limit_holds_under_concurrent_writers(database_url: str) -> None:
    import threading

    shop = Shop(database_url)
    fans = [Shopper(Network.X, str(7200 + n), f"c{n}") for n in range(6)]
    for fan in fans:
        shop.customer(f"{fan.handle}@example.com", (fan.network, fan.account_id, fan.handle))
    offer(shop, limit=2)
    start = threading.Barrier(len(fans))
    failures: list[BaseException] = []

    def load(n: int, fan: Shopper) -> None:
        try:
            start.wait(timeout=30)
            shop.ingest([post(fan, str(8400 + n), "#summer20", minutes=n)])
        except BaseException as error:  # surfaced below with its own traceback
            failures.append(error)

    threads = [threading.Thread(target=load, args=(n, fan)) for n, fan in enumerate(fans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert len(loads(shop)) == 2
    reasons = shop.reasons()
    assert reasons.count("offer_loaded") == 2 and reasons.count("offer_exhausted") == 4


def test_forgetting_an_account_drops_its_waiting_offer_posts(shop: Shop) -> None:
    offer(shop)
    stranger = UNLINKED["bluesky"]
    shop.ingest([post(stranger, stranger.key(), "#summer20")])
    assert [load["status"] for load in loads(shop)] == ["pending"]
    with shop.app.unit_of_work() as uow:
        uow.repository.forget_network_account(stranger.network, stranger.account_id)
    assert loads(shop) == []
