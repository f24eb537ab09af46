"""X's filtered-stream rules for live sales (issue 13 on X, issue 15): a claim (`sold 12`) is
an untagged reply that need not mention the shop, so while a sale is open the rules ask for
the replies in its X posts' conversations, `conversation_id:<post id>` (a standalone operator:
x-api/posts/filtered-stream/integrate/operators.mdx, "conversation_id:"), at most 1,024
characters a rule (x-api/posts/filtered-stream/introduction.mdx, "Access levels": rule length
1,024 chars on pay-per-use), tagged `hashcart:sales`. The listener puts them in place while
connected when a sale opens, and takes them away when it closes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from hashcart.networks.x.api import NewRule
from hashcart.networks.x.stream import (
    LINK_RULE_TAG,
    MAX_RULE_LENGTH,
    RULES_RECHECK,
    SALES_RULE_TAG,
    TRIGGER_RULE_TAG,
    FilteredStreamListener,
    desired_rules,
)
from hashcart.ports import NewSaleItem
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.sales import close_sale, open_sale
from hashcart.store import schema as t
from tests.harness import Shop
from tests.networks.x.conftest import SHOP_HANDLE, SHOPPER_ID, ServedStandIn
from tests.networks.x.payloads import stream_line, v2_post, v2_shop_post
from tests.networks.x.stand_in import StreamSession
from tests.networks.x.test_stream import RecordedWaits, _until

SALE_POST = "1890000000000000101"
OTHER_SALE_POST = "1890000000000000102"


def test_open_sales_posts_are_asked_for_by_their_conversations() -> None:
    rules = desired_rules(
        ("cart",), ("cartlink",), SHOP_HANDLE, sale_posts=(SALE_POST, OTHER_SALE_POST)
    )
    assert rules == [
        NewRule(f"#cart to:{SHOP_HANDLE} -is:retweet", TRIGGER_RULE_TAG),
        NewRule("#cartlink -is:retweet", LINK_RULE_TAG),
        NewRule(
            "(conversation_id:1890000000000000101 OR conversation_id:1890000000000000102)"
            " -is:retweet",
            SALES_RULE_TAG,
        ),
    ]
    # One sale post: no parentheses. No handle is needed (the rule names the posts), and a
    # post id that is no X id (it would make X refuse the whole request) is left out.
    assert desired_rules((), (), None, sale_posts=(SALE_POST, "at://did:plc:x/post/1", "")) == [
        NewRule("conversation_id:1890000000000000101 -is:retweet", SALES_RULE_TAG)
    ]
    assert not any(rule.tag == SALES_RULE_TAG for rule in desired_rules(("cart",), (), SHOP_HANDLE))


def test_many_sale_posts_are_split_over_rules_of_at_most_1024_characters() -> None:
    posts = [str(1890000000000001000 + n) for n in range(60)]
    rules = desired_rules((), (), None, sale_posts=posts)
    terms = [f"conversation_id:{post}" for post in posts]
    # 26 terms of 35 characters make a rule of exactly 1,024: (26 x 35) + (25 x 4) + 2 + 12.
    assert [rule.value for rule in rules] == [
        "(" + " OR ".join(terms[:26]) + ") -is:retweet",
        "(" + " OR ".join(terms[26:52]) + ") -is:retweet",
        "(" + " OR ".join(terms[52:]) + ") -is:retweet",
    ]
    assert len(rules[0].value) == MAX_RULE_LENGTH
    assert {rule.tag for rule in rules} == {SALES_RULE_TAG}


def _claims(shop: Shop) -> list[str]:
    with shop.app.engine.connect() as connection:
        return list(connection.scalars(select(t.sale_claims.c.post_id)))


def _sales_rules(x: ServedStandIn) -> list[str]:
    return sorted(str(rule["value"]) for rule in x.x.rules if rule["tag"] == SALES_RULE_TAG)


def test_a_sale_opened_while_connected_gets_its_rule_and_loses_it_when_closed(
    shop: Shop, x: ServedStandIn
) -> None:
    x.x.stream_sessions.append(StreamSession(lines=[b""], then="hold"))
    sink = LiveIngest(shop.app)
    listener = FilteredStreamListener(sink, x.api(), shop_handle=SHOP_HANDLE, wait=RecordedWaits())
    units = shop.app.unit_of_work
    claim = v2_post("1890000000000000201", SHOPPER_ID, "sold 12", reply_to=SALE_POST)

    def keep_alive_after_the_recheck() -> None:
        shop.clock.advance(RULES_RECHECK + timedelta(seconds=1))
        x.x.pushed.append(b"")  # X's keep-alive: the listener checks its rules

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await _until(x.x.holding.is_set, "the connection")
        assert _sales_rules(x) == []
        requests = len(x.x.rule_requests)

        sale = NewSaleItem("12", "mug", 3)
        await asyncio.to_thread(
            open_sale, units, "Friday live", [("x", SALE_POST)], [sale], 24, shop.clock.now()
        )
        keep_alive_after_the_recheck()
        want = ["conversation_id:1890000000000000101 -is:retweet"]
        await _until(lambda: _sales_rules(x) == want, "the sale's rule")
        assert len(x.x.rule_requests) == requests + 1  # one request: the rule added

        # The untagged reply the rule brings is a claim (the sink learned the sale).
        x.x.pushed.append(stream_line(claim, v2_shop_post(SALE_POST)))
        await _until(lambda: _claims(shop) == ["1890000000000000201"], "the claim recorded")

        await asyncio.to_thread(close_sale, units, "Friday live", shop.clock.now())
        keep_alive_after_the_recheck()
        await _until(lambda: _sales_rules(x) == [], "the closed sale's rule deleted")
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert listener.connections == 1  # all of it on one connection
