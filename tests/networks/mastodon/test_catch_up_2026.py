"""Catch-up as Mastodon behaves since 4.3 and 4.5 (issue 11): nothing the shop account's
notification policy filtered is lost, a quote of the shop's post is a trigger, and the
edited version of a trigger hashcart never saw is a new post.

The statuses are the recorded ones (`status_like` edits a status Mastodon 4.6.4 answered, see
standin.py); the quote's `quote` object has the documented Quote shape (entities/Quote.md).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hashcart.domain.posts import Network
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.mastodon.stream import NOTIFICATIONS_CURSOR
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import save_cursor
from tests.harness import Shop
from tests.networks.mastodon.conftest import Case, RecordedWaits, Server, link_shopper
from tests.networks.mastodon.test_stream import cursor, ingest, listener, run_until


def _sink(shop: Shop, server: Server) -> LiveIngest:
    return LiveIngest(shop.app, fetchers={Network.MASTODON: MastodonParentFetcher(server.api())})


def quote_notification(
    case: Case, status_id: str, quoted: dict[str, Any], shopper: str, notification_id: str
) -> dict[str, Any]:
    """A `quote` notification (entities/Notification.md, 4.5: "Someone has quoted one of your
    statuses"; its `status` is the quoting status). Hand-built on the recorded mention: the
    type, and a status whose `quote` is the documented Quote `{"state", "quoted_status"}`."""
    status = case.reply(status_id, quoted["id"], shopper)
    status.update(in_reply_to_id=None, in_reply_to_account_id=None)
    status["quote"] = {"state": "accepted", "quoted_status": copy.deepcopy(quoted)}
    notification = case.mention(status, notification_id)
    notification["type"] = "quote"
    return notification


def test_catch_up_finds_filtered_private_mentions_and_quotes(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    """methods/notifications.md: `include_filtered` (4.3) lists what the policy filtered,
    `types[]` must name `quote` (entities/Notification.md, 4.5) for quotes to be listed."""
    shop = shop_any_db
    sink = _sink(shop, server)
    emails = {name: link_shopper(shop, name) for name in ("sam", "kim")}
    mug, beans = case.shop_post("1100", "mug"), case.shop_post("1200", "beans")
    ingest(sink, mug, beans)
    save_cursor(shop.app.engine, NOTIFICATIONS_CURSOR, "100", shop.clock.now())
    # While the listener was away: sam's `#cart` as a private mention, which the shop
    # account's policy filtered (for_private_mentions, entities/NotificationPolicy.md), and
    # kim's quote of the beans post with `#cart`.
    private = case.mention(case.reply("1101", "1100", "sam", visibility="direct"), "101")
    server.stand_in.add_notification(private, filtered=True)
    server.stand_in.add_notification(quote_notification(case, "1201", beans, "kim", "102"))

    run_until(
        listener(sink, server, RecordedWaits()),
        lambda: cursor(shop, NOTIFICATIONS_CURSOR) == "102",
        "both notifications caught up",
    )

    assert shop.cart(emails["sam"]) == [("mug", 1)]
    assert shop.cart(emails["kim"]) == [("beans", 1)]
    assert sorted((m["in_reply_to"], m["reason"]) for m in shop.outbox()) == [
        ("1101", "added"),
        ("1201", "added"),
    ]
    asked = server.stand_in.requests("/api/v1/notifications")[-1].query
    assert ("include_filtered", "true") in asked
    assert {value for name, value in asked if name == "types[]"} == {"mention", "quote"}


def edited(status: dict[str, Any], at: str = "2026-01-05T12:30:00.000Z") -> dict[str, Any]:
    """The status as the server lists it after its author edited it: same id, `edited_at`
    set (entities/Status.md: "Timestamp of when the status was last edited")."""
    later = copy.deepcopy(status)
    later["edited_at"] = at
    return later


def test_an_edited_trigger_never_seen_before_is_a_new_post(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    """Catch-up lists a status as it is now: a `#cart` reply edited while the listener was
    away comes with `edited_at`, and it is the only version hashcart will ever see."""
    shop = shop_any_db
    sink = _sink(shop, server)
    email = link_shopper(shop, "sam")
    ingest(sink, case.shop_post("1100", "mug"))
    save_cursor(shop.app.engine, NOTIFICATIONS_CURSOR, "100", shop.clock.now())
    server.stand_in.add_notification(case.mention(edited(case.reply("1101", "1100", "sam")), "101"))

    run_until(
        listener(sink, server, RecordedWaits()),
        lambda: cursor(shop, NOTIFICATIONS_CURSOR) == "101",
        "the edited mention caught up",
    )

    assert shop.cart(email) == [("mug", 1)]
    assert [(m["in_reply_to"], m["reason"]) for m in shop.outbox()] == [("1101", "added")]
    assert sink.stats.edits_and_reposts == 0


def test_an_edit_of_a_stored_trigger_is_still_skipped_and_counted(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    """Only a post's first version acts: the edit of a trigger hashcart stored changes
    nothing, whether it comes as the listed status or as the stream's `status.update`."""
    shop = shop_any_db
    sink = _sink(shop, server)
    email = link_shopper(shop, "sam")
    reply = case.reply("1101", "1100", "sam")
    ingest(sink, case.shop_post("1100", "mug"), reply)
    assert shop.cart(email) == [("mug", 1)]

    ingest(sink, edited(reply))
    update = {"stream": ["hashtag", "cart"], "event": "status.update"}
    update["payload"] = json.dumps(edited(reply, "2026-01-05T12:31:00.000Z"))
    ingest(sink, update)

    assert shop.cart(email) == [("mug", 1)]
    assert [(m["in_reply_to"], m["reason"]) for m in shop.outbox()] == [("1101", "added")]
    assert sink.stats.edits_and_reposts == 2
    assert sink.stats.duplicates == 0
