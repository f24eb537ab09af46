"""The filtered-stream listener against the stand-in: rules kept in sync, lines to the sink,
reconnects on X's documented schedule, and a prompt stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.x.api import NewRule
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.networks.x.stream import (
    ADDRESSED_RULE_TAG,
    LINK_RULE_TAG,
    MAX_RULE_LENGTH,
    OFFER_RULE_TAG,
    TRIGGER_RULE_TAG,
    FilteredStreamListener,
    desired_rules,
    sync_rules,
    wait_or_stop,
)
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.offers import add_offer, set_paused
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.x.conftest import SHOP_HANDLE, SHOPPER_EMAIL, ServedStandIn
from tests.networks.x.payloads import (
    lookup_answer,
    stream_line,
    v2_cart_reply,
    v2_shop_post,
)
from tests.networks.x.stand_in import Scripted, StreamSession, XStandIn

DEADLINE = 10.0
TRIGGER_RULE = f"(#cart OR #wishlist) to:{SHOP_HANDLE} -is:retweet"
LINK_RULE = "#cartlink -is:retweet"
# `@shop #order` (issue 12, order care): `@` matches posts that mention the username
# (x-api/posts/filtered-stream/integrate/operators.mdx, entity operators).
ORDER_RULE = f"#order @{SHOP_HANDLE} -is:retweet"
# The engine's shop, with buy with a post (issue 12): `#buy` joins the trigger rule, and
# `#confirm CODE`, addressed to the shop, the `@shop` rule (not everyone's `#confirm`).
SHOP_TRIGGER_RULE = f"(#cart OR #wishlist OR #buy) to:{SHOP_HANDLE} -is:retweet"
SHOP_ADDRESSED_RULE = f"(#order OR #confirm) @{SHOP_HANDLE} -is:retweet"
# Offer tags (issue 12) only in posts that reach the shop: `to:` matches replies to it (its
# offer post), `@` mentions of it (operators.mdx, user and entity operators). Before, they
# joined the link rule, `(#cartlink OR #summer20) -is:retweet`: every such post on X.
OFFER_RULE = f"#summer20 (to:{SHOP_HANDLE} OR @{SHOP_HANDLE}) -is:retweet"
# X's answer to a second connection of the same app. documented: verbatim,
# x-api/fundamentals/handling-disconnections ("TooManyConnections").
TOO_MANY_CONNECTIONS = {
    "title": "ConnectionException",
    "detail": "This stream is currently at the maximum allowed connection limit.",
    "connection_issue": "TooManyConnections",
    "type": "https://api.x.com/2/problems/streaming-connection",
}


# --- rules --------------------------------------------------------------------------------


def test_the_shop_s_tags_and_handle_make_two_rules() -> None:
    rules = desired_rules(("cart", "wishlist"), ("cartlink",), SHOP_HANDLE)
    assert rules == [NewRule(TRIGGER_RULE, TRIGGER_RULE_TAG), NewRule(LINK_RULE, LINK_RULE_TAG)]
    assert desired_rules(("cart",), ("cartlink",), "@Trailhead")[0].value == (
        "#cart to:Trailhead -is:retweet"
    )


def test_tags_that_ask_the_shop_itself_are_asked_for_with_a_mention_of_it() -> None:
    rules = desired_rules(("cart",), ("cartlink",), SHOP_HANDLE, ("order", "wheresmyorder"))
    assert (
        NewRule(f"(#order OR #wheresmyorder) @{SHOP_HANDLE} -is:retweet", ADDRESSED_RULE_TAG)
        in rules
    )
    # Without the shop's handle a bare `#order` rule would bring (and bill) everyone's.
    assert desired_rules((), ("cartlink",), None, ("order",)) == [NewRule(LINK_RULE, LINK_RULE_TAG)]


def test_offer_tags_are_asked_for_in_replies_to_or_mentions_of_the_shop_only() -> None:
    rules = desired_rules(("cart",), ("cartlink",), SHOP_HANDLE, ("order",), ("summer20", "sp10"))
    assert rules[-2:] == [
        NewRule(
            f"(#summer20 OR #sp10) (to:{SHOP_HANDLE} OR @{SHOP_HANDLE}) -is:retweet",
            OFFER_RULE_TAG,
        ),
        NewRule(LINK_RULE, LINK_RULE_TAG),
    ]
    # Never a bare offer tag: without the shop's handle there is no offer rule at all.
    assert desired_rules((), ("cartlink",), None, (), ("summer20",)) == [
        NewRule(LINK_RULE, LINK_RULE_TAG)
    ]


def test_without_a_handle_there_is_no_trigger_rule() -> None:
    assert desired_rules(("cart",), ("cartlink",), None) == [NewRule(LINK_RULE, LINK_RULE_TAG)]
    assert desired_rules(("cart",), ("cartlink",), "not a handle!") == [
        NewRule(LINK_RULE, LINK_RULE_TAG)
    ]


def test_many_tags_are_split_over_rules_x_accepts() -> None:
    tags = [f"cart{n:03d}longertagname" for n in range(60)]
    rules = desired_rules(tags, ("cartlink",), SHOP_HANDLE)
    trigger_rules = [rule.value for rule in rules if rule.tag == TRIGGER_RULE_TAG]
    assert len(trigger_rules) > 1
    assert all(len(value) <= MAX_RULE_LENGTH for value in trigger_rules)
    assert all(value.endswith(f" to:{SHOP_HANDLE} -is:retweet") for value in trigger_rules)
    covered = " ".join(trigger_rules)
    assert all(f"#{tag}" in covered for tag in tags)


def test_syncing_adds_and_deletes_only_our_rules(x: ServedStandIn) -> None:
    x.x.rules = [
        {"id": "1", "value": "from:someone has:links", "tag": "another-tool"},
        {
            "id": "2",
            "value": "(#cart OR #wishlist) to:OldHandle -is:retweet",
            "tag": TRIGGER_RULE_TAG,
        },
        {"id": "3", "value": LINK_RULE, "tag": LINK_RULE_TAG},
        {"id": "4", "value": "#cart to:Trailhead", "tag": None},  # untagged: not ours either
    ]
    wanted = desired_rules(("cart", "wishlist"), ("cartlink",), SHOP_HANDLE)
    with x.api() as api:
        assert sync_rules(api, wanted) == (1, 1)
        assert sorted((rule["value"], rule["tag"]) for rule in x.x.rules) == sorted(
            [
                ("from:someone has:links", "another-tool"),
                (LINK_RULE, LINK_RULE_TAG),
                ("#cart to:Trailhead", None),
                (TRIGGER_RULE, TRIGGER_RULE_TAG),
            ]
        )
        assert x.x.rule_requests[0] == {"delete": {"ids": ["2"]}}
        assert x.x.rule_requests[1] == {"add": [{"value": TRIGGER_RULE, "tag": TRIGGER_RULE_TAG}]}
        # In sync: nothing more to do.
        assert sync_rules(api, wanted) == (0, 0)
        assert len(x.x.rule_requests) == 2


# --- the listener ---------------------------------------------------------------------------


class RecordedWaits:
    """The listener's wait between reconnects: records the delay, waits no time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for `condition`, polling with a deadline (it is set by another thread)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _run_until_holding(
    listener: FilteredStreamListener,
    x: ServedStandIn,
    then: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the listener until the stand-in holds its last connection open, then stop it
    and check that it stops promptly."""
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    await _until(x.x.holding.is_set, "the last connection")
    if then is not None:
        await then()
    stop.set()
    await asyncio.wait_for(task, timeout=5)


def _listener(
    shop: Shop, x: ServedStandIn, waits: RecordedWaits, stall_seconds: float = 30.0
) -> FilteredStreamListener:
    sink = LiveIngest(shop.app, fetchers={Network.X: XParentFetcher(x.api())})
    return FilteredStreamListener(
        sink, x.api(), shop_handle=SHOP_HANDLE, wait=waits, stall_seconds=stall_seconds
    )


def test_the_stream_puts_products_in_carts_and_reconnects_on_x_s_schedule(
    shop: Shop, x: ServedStandIn
) -> None:
    parent, reply = (
        v2_shop_post("1890000000000000001"),
        v2_cart_reply("1890000000000000002", "1890000000000000001"),
    )
    wish = v2_cart_reply("1890000000000000003", "1890000000000000001", tag="wishlist")
    reset = shop.clock.now() + timedelta(seconds=90)
    x.x.stream_sessions.extend(
        [
            # hand-built: no documented sample for a 5xx body.
            StreamSession(Scripted(503, {"title": "Service Unavailable", "status": 503})),
            # documented: TOO_MANY_CONNECTIONS, with x-api/fundamentals/rate-limits' headers.
            StreamSession(
                Scripted(
                    429,
                    TOO_MANY_CONNECTIONS,
                    {
                        "x-rate-limit-limit": "50",
                        "x-rate-limit-remaining": "0",
                        "x-rate-limit-reset": str(int(reset.timestamp())),
                    },
                )
            ),
            # Keep-alive, the reply with its parent expanded, the same line again; then
            # the connection drops mid-stream.
            StreamSession(
                lines=[b"", stream_line(reply, parent), stream_line(reply, parent)],
                then="disconnect",
            ),
            # Dropped before a single byte: a failure in a row (the delay grows).
            StreamSession(then="disconnect"),
            StreamSession(then="disconnect"),
            StreamSession(lines=[b"", stream_line(wish, parent)], then="hold"),
        ]
    )
    waits = RecordedWaits()
    listener = _listener(shop, x, waits)

    async def ingested() -> None:
        await _until(lambda: listener.lines == 3, "the last line to be ingested")

    asyncio.run(_run_until_holding(listener, x, ingested))
    # 503: HTTP errors from 5 s; 429: until X's reset (90 s); the drop after a healthy
    # connection reconnects at once (handling-disconnections.mdx), then failures in a row
    # wait 250 ms, growing by 250 ms.
    assert waits.delays == [5.0, 90.0, 0.25, 0.5]
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]  # the duplicate line changed nothing
    assert shop.wishlist(SHOPPER_EMAIL) == ["mug"]
    assert shop.reasons() == ["added", "wishlisted"]
    assert len(x.x.stream_requests) == 6
    query = x.x.stream_requests[0]
    assert query["expansions"] == "author_id,referenced_tweets.id"
    assert "referenced_tweets" in query["tweet.fields"]
    # Rules were put in place once, before the first connection: one request adding both.
    assert len(x.x.rule_requests) == 1
    assert sorted(str(rule["value"]) for rule in x.x.rules) == sorted(
        [SHOP_TRIGGER_RULE, SHOP_ADDRESSED_RULE, LINK_RULE]
    )


def test_http_errors_in_a_row_double_up_to_the_cap(shop: Shop, x: ServedStandIn) -> None:
    # hand-built: no documented sample for a 5xx body.
    error = Scripted(500, {"title": "Internal Server Error", "status": 500})
    x.x.stream_sessions.extend([StreamSession(error)] * 8 + [StreamSession(then="hold")])
    waits = RecordedWaits()
    asyncio.run(_run_until_holding(_listener(shop, x, waits), x))
    assert waits.delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 320.0]


def test_a_parent_missing_from_the_line_is_fetched(shop: Shop, x: ServedStandIn) -> None:
    parent_id = "1890000000000000011"
    x.x.lookup_answers[parent_id] = lookup_answer(v2_shop_post(parent_id))
    reply = v2_cart_reply("1890000000000000012", parent_id)
    x.x.stream_sessions.append(StreamSession(lines=[stream_line(reply)], then="hold"))
    waits = RecordedWaits()
    listener = _listener(shop, x, waits)

    async def ingested() -> None:
        await _until(lambda: listener.lines == 1, "the line to be ingested")

    asyncio.run(_run_until_holding(listener, x, ingested))
    assert x.x.lookups == [parent_id]
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]


def test_a_silent_connection_is_dropped_and_reopened(shop: Shop, x: ServedStandIn) -> None:
    x.x.stream_sessions.extend(
        [StreamSession(lines=[b""], then="stall"), StreamSession(then="hold")]
    )
    waits = RecordedWaits()
    asyncio.run(_run_until_holding(_listener(shop, x, waits, stall_seconds=0.3), x))
    assert waits.delays == []  # an established connection gone silent: reopened at once
    assert len(x.x.stream_requests) == 2


def test_a_stop_during_a_long_backoff_ends_the_listener_at_once(
    shop: Shop, x: ServedStandIn
) -> None:
    # hand-built: no documented sample for a 5xx body.
    x.x.stream_sessions.append(StreamSession(Scripted(503, {"status": 503})))
    waiting = asyncio.Event()

    async def wait(seconds: float, stop: asyncio.Event) -> None:
        waiting.set()
        await wait_or_stop(seconds, stop)  # the real wait: 5 s unless stopped

    sink = LiveIngest(shop.app)
    listener = FilteredStreamListener(sink, x.api(), shop_handle=SHOP_HANDLE, wait=wait)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await asyncio.wait_for(waiting.wait(), DEADLINE)
        began = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=DEADLINE)
        return time.monotonic() - began

    assert asyncio.run(scenario()) < 1.0


def test_a_refused_rule_sync_backs_off_like_an_http_error(shop: Shop, x: ServedStandIn) -> None:
    x.x.stream_sessions.append(StreamSession(then="hold"))
    waits = RecordedWaits()
    sink = LiveIngest(shop.app)
    # The app's bearer token is wrong: the rules cannot be read, the stream is not opened.
    listener = FilteredStreamListener(
        sink, x.api(bearer_token="revoked"), shop_handle=SHOP_HANDLE, wait=waits
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await _until(lambda: len(waits.delays) >= 2, "two reconnect delays")
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert waits.delays[:2] == [5.0, 10.0]
    assert x.x.stream_requests == []


@pytest.mark.parametrize("size", [2 * 1024 * 1024])
def test_a_line_too_long_for_the_engine_is_kept_as_a_dead_letter(
    shop: Shop, x: ServedStandIn, size: int
) -> None:
    reply = v2_cart_reply("1890000000000000022", "1890000000000000021")
    parent = v2_shop_post("1890000000000000021")
    huge = b'{"data": {"text": "' + b"a" * size + b'"}}'
    x.x.stream_sessions.append(StreamSession(lines=[huge, stream_line(reply, parent)], then="hold"))
    waits = RecordedWaits()
    listener = _listener(shop, x, waits)

    async def ingested() -> None:
        await _until(lambda: listener.lines == 2, "both lines")

    asyncio.run(_run_until_holding(listener, x, ingested))
    assert len(shop.dead_letters()) == 1
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]


def test_the_handle_comes_from_the_settings_in_force(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'h.db'}", x_shop_handle="@trailhead")
    stand_in = XStandIn(shop.clock.now)
    stand_in.stream_sessions.append(StreamSession(then="hold"))
    with LiveServer(stand_in.app) as server:
        try:
            served = ServedStandIn(stand_in, server.url)
            listener = FilteredStreamListener(
                LiveIngest(shop.app), served.api(), wait=RecordedWaits()
            )
            asyncio.run(_run_until_holding(listener, served))
        finally:
            stand_in.release()
    assert sorted(str(rule["value"]) for rule in stand_in.rules) == sorted(
        [SHOP_TRIGGER_RULE, SHOP_ADDRESSED_RULE, LINK_RULE]
    )


def test_the_engine_s_offers_make_a_targeted_rule_and_an_ended_one_leaves_it(
    shop: Shop, x: ServedStandIn
) -> None:
    now = shop.clock.now()
    units, settings = shop.app.unit_of_work, shop.app.settings
    add_offer(units, settings, now - timedelta(days=2), tag="summer20", percent="20")
    ended = (now - timedelta(hours=1)).isoformat()
    add_offer(units, settings, now - timedelta(days=2), tag="winter10", percent="10", expires=ended)
    paused = add_offer(units, settings, now - timedelta(days=2), tag="autumn5", percent="5")
    set_paused(units, paused.id, True)
    # The shopper answers the shop's offer post with its tag (a reply: `to:trailhead`).
    parent = v2_shop_post("1890000000000000001")
    reply = v2_cart_reply("1890000000000000002", "1890000000000000001", tag="summer20")
    x.x.stream_sessions.append(StreamSession(lines=[stream_line(reply, parent)], then="hold"))
    listener = _listener(shop, x, RecordedWaits())

    async def ingested() -> None:
        await _until(lambda: listener.lines == 1, "the offer reply")

    asyncio.run(_run_until_holding(listener, x, ingested))
    assert sorted(str(rule["value"]) for rule in x.x.rules) == sorted(
        [SHOP_TRIGGER_RULE, SHOP_ADDRESSED_RULE, OFFER_RULE, LINK_RULE]
    )
    assert {str(rule["tag"]) for rule in x.x.rules if "#summer20" in str(rule["value"])} == {
        OFFER_RULE_TAG
    }
    assert not any("winter10" in str(rule["value"]) for rule in x.x.rules)
    assert shop.reasons() == ["offer_loaded"]
