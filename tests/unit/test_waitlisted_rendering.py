"""A live sale item's `claim_waitlisted` reply is rendered once and filled per shopper
(domain/messages.Placed, used by services/notify): every shopper still gets exactly the text
`compose` gives them, whatever the handle, place, reference, title, merchant's template and
network limit (X 280 weighted characters, Bluesky 300 graphemes, Mastodon 500: see
tests/unit/test_message_lengths.py for the pages that define them), a text over the limit
included (compose shortens it; Placed then composes it the same way)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.messages import MessageContext, Placed, Reason, SaleFacts, compose
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import limit_for
from tests.unit.test_message_lengths import ACCOUNT_URL, TITLES, _sanitize

TEMPLATES = st.sampled_from(
    [
        None,
        "Sorry, $sale_item is gone$place_note. We will tell you if it comes free.",
        "$place_note$place_note no place mark: 987654321987 $shop",
        "Waitlisted for $item_number.",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=TITLES,
    handles=st.lists(st.one_of(st.just(""), st.text(max_size=60), TITLES), min_size=1, max_size=4),
    places=st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=4),
    post_id=st.text(min_size=1, max_size=30),
    network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON]),
    template=TEMPLATES,
    shop_name=st.one_of(st.just("Trailhead Coffee"), TITLES),
)
def test_each_shopper_gets_what_compose_gives(
    title: str,
    handles: list[str],
    places: list[int],
    post_id: str,
    network: Network,
    template: str | None,
    shop_name: str,
) -> None:
    templates = {"claim_waitlisted": template} if template else {}
    ctx = MessageContext("", "", shop_name, ACCOUNT_URL, _sanitize, templates=templates)
    limit = limit_for(network)
    sale = SaleFacts(item="12", price="24.00 EUR")
    placed = Placed(Reason.CLAIM_WAITLISTED, ctx, title, sale, limit)
    for handle in handles:
        for place in places:
            own = replace(ctx, handle=handle, trigger_post_id=post_id)
            expected = compose(
                Reason.CLAIM_WAITLISTED,
                own,
                title=title,
                limit=limit,
                sale=replace(sale, place=place),
            )
            assert placed.text(handle, post_id, place) == expected
