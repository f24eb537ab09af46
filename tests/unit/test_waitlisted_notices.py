"""A settle step queues its waitlisted claims' replies with `Notices.tell_placed` (its item's
rendering, the place apart) instead of `Notices.tell` with each shopper's facts: whatever the
shopper's contact (none, public replies, private messages, email only), the network, the
first-message advice, the handle, title and place, the messages and emails it queues are the
ones `tell` queues (services/sales `_send`)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.messages import NotifyBy, Reason, SaleFacts
from hashcart.domain.posts import Network
from hashcart.ports import Contact
from hashcart.services.notify import Notices
from tests.unit.test_message_lengths import TITLES, _shop

CONTACTS = st.sampled_from(
    [
        None,
        Contact(7, "ada@example.com", NotifyBy.PUBLIC_REPLY),
        Contact(7, "ada@example.com", NotifyBy.PRIVATE_MESSAGE),
        Contact(7, "ada@example.com", NotifyBy.EMAIL_ONLY),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=TITLES,
    handle=st.one_of(st.just(""), st.text(max_size=40), TITLES),
    place=st.integers(min_value=1, max_value=10**7),
    post_id=st.text(min_size=1, max_size=30),
    network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON]),
    contact=CONTACTS,
    advised=st.booleans(),
)
def test_a_placed_tell_queues_what_tell_queues(
    title: str,
    handle: str,
    place: int,
    post_id: str,
    network: Network,
    contact: Contact | None,
    advised: bool,
) -> None:
    shop = _shop()
    if advised:
        shop = replace(shop, first_advice={Network.X: "Mention @shop with #cart."})
    facts = SaleFacts(item="12")
    told, placed_told = Notices(shop), Notices(shop)
    told.tell(
        network,
        "acct-1",
        handle,
        post_id,
        Reason.CLAIM_WAITLISTED,
        contact,
        title=title,
        sale=replace(facts, place=place),
    )
    placed = shop.waitlisted_reply(network, title, facts)
    placed_told.tell_placed(network, "acct-1", handle, post_id, contact, placed, place)
    assert placed_told.messages == told.messages
    assert placed_told.emails == told.emails
    assert {i: f() for i, f in placed_told.advised.items()} == {
        i: f() for i, f in told.advised.items()
    }
