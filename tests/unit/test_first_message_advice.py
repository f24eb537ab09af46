"""The first message's advice to X shoppers (`@shop #cart`) fits X's 280 weighted characters
as twitter-text counts them (docs.x.com resources/fundamentals/counting-characters) whatever
the product titles and the shop's name, and is never shortened: titles give way first."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.messages import Reason, compose, first_message_advice, mention_ask, reference
from hashcart.domain.posts import Network
from hashcart.domain.shop_accounts import ShopAccount
from hashcart.domain.text_lengths import limit_for
from tests.unit.test_message_lengths import TITLES, TRIGGER, _context

# The longest handle X allows (15), the advice as a shop with it gives it.
ADVICE = first_message_advice(mention_ask("a" * 15, "cart") or "", "X")
X_LIMIT = limit_for(Network.X)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reason=st.sampled_from(list(Reason)),
    titles=st.lists(TITLES.filter(lambda title: title.strip() != ""), min_size=1, max_size=5),
    shop_name=TITLES.filter(lambda name: name.strip() != ""),
)
def test_any_first_message_on_x_fits_and_keeps_the_advice(
    reason: Reason, titles: list[str], shop_name: str
) -> None:
    assert X_LIMIT is not None
    text = compose(
        reason,
        _context(handle="b" * 15, shop_name=shop_name),
        title=titles[0],
        options=titles,
        quantity=9,
        limit=X_LIMIT,
        advice=ADVICE,
    )
    assert X_LIMIT.fits(text)
    assert f" {ADVICE} (ref {reference(TRIGGER)})" in text


def test_the_advice_names_the_shop_and_the_tag() -> None:
    assert first_message_advice("@trailhead #cart", "X") == (
        "Next time, write @trailhead #cart and we can answer you on X."
    )


def test_no_usable_handle_gives_no_advice() -> None:
    for handle in (None, "", "@", "has space", "a" * 16, "tr@il", "\x00"):
        assert mention_ask(handle, "cart") is None
    assert mention_ask("@trailhead", "cart") == "@trailhead #cart"


def test_an_account_matches_its_id_exactly_and_its_handle_ignoring_case() -> None:
    shop = ShopAccount(Network.X, "Trailhead")
    assert shop.is_author(Network.X, "1", "@trailhead")
    assert not shop.is_author(Network.MASTODON, "1", "trailhead")
    assert not shop.is_author(Network.X, "1", "")
    by_id = ShopAccount(Network.X, "1250000000000000001")
    assert by_id.is_author(Network.X, "1250000000000000001", "")
    assert not by_id.is_author(Network.X, "12500000000000000010", "")
