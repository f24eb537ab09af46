"""Messages fit each network's length limit, as that network counts, and keep what matters.

The limits: X 280 weighted characters (docs.x.com/resources/fundamentals/counting-characters),
Bluesky 300 graphemes (bluesky-social/atproto lexicons/app/bsky/feed/post.json, `text`
maxGraphemes), Mastodon the server's `configuration.statuses.max_characters`
(docs.joinmastodon.org/entities/Instance/#max_characters), a URL counting 23. Only the
product title (then the shop's name) is shortened, never the reference code or the link.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.config import Settings
from hashcart.domain.kinds import KINDS, Grammar
from hashcart.domain.link_codes import LinkWords
from hashcart.domain.messages import MessageContext, Reason, compose, reference
from hashcart.domain.posts import Network
from hashcart.domain.products import Catalog, ShopHosts
from hashcart.domain.text_lengths import (
    TextLimit,
    graphemes,
    limit_for,
    mastodon_length,
    shorten,
    x_weighted_length,
)
from hashcart.domain.triggers import TriggerWords, strip_trigger_tags
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

ACCOUNT_URL = "https://shop.example/account"
TRIGGER = "1700000000000000042"
WORDS = TriggerWords.of(KINDS.tags_by_kind(Settings(), Grammar.REPLY))


def _sanitize(text: str) -> str:
    return strip_trigger_tags(text, WORDS)


def _context(handle: str = "shopper", shop_name: str = "Trailhead Coffee") -> MessageContext:
    return MessageContext(handle, TRIGGER, shop_name, ACCOUNT_URL, _sanitize)


LIMITS = [limit_for(network) for network in (Network.X, Network.BLUESKY, Network.MASTODON)]

# Hostile titles: emoji ZWJ sequences and flags, combining marks, right-to-left text and its
# controls, CJK (weight 2 on X), and anything else Unicode has.
HOSTILE_PIECES = st.sampled_from(
    [
        "👩‍👩‍👧‍👦",  # a ZWJ family: one grapheme, seven code points
        "🏳️‍🌈",
        "🇫🇷",
        "e\u0301\u0302\u0303",  # a letter with three combining marks
        "Z\u0336\u0337\u0338\u0339\u033a",
        "مرحبا بالعالم",
        "\u202e\u2067",  # right-to-left override and isolate
        "故人西辞黄鹤楼",
        "ｃａｒｔ",
        "#cart",
        "https://evil.example/x",
        " ",
        "\u200d",
    ]
)
TITLES = st.lists(st.one_of(HOSTILE_PIECES, st.text(min_size=1, max_size=40)), max_size=40).map(
    "".join
)


def _limit(network: Network) -> TextLimit:
    found = limit_for(network)
    assert found is not None
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=TITLES.filter(lambda title: title.strip() != ""),
    network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON]),
)
def test_any_title_fits_and_keeps_the_code(title: str, network: Network) -> None:
    limit = _limit(network)
    text = compose(Reason.ADDED, _context(), title=title, quantity=3, limit=limit)
    assert limit.fits(text)
    assert text.endswith(f"(ref {reference(TRIGGER)})")
    assert text.startswith("@shopper Added 3 × ")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(TITLES, min_size=2, max_size=6),
    network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON]),
)
def test_several_products_fit_and_keep_the_code(titles: list[str], network: Network) -> None:
    limit = _limit(network)
    text = compose(Reason.WHICH_PRODUCT, _context(), options=titles, limit=limit)
    assert limit.fits(text)
    assert f"(ref {reference(TRIGGER)})" in text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shop_name=TITLES.filter(lambda name: name.strip() != ""),
    network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON]),
)
def test_the_link_and_the_code_stay_verbatim_whatever_the_shop_is_called(
    shop_name: str, network: Network
) -> None:
    limit = _limit(network)
    text = compose(Reason.LINK_NEEDED, _context(shop_name=shop_name), limit=limit)
    assert limit.fits(text)
    assert f" {ACCOUNT_URL}. " in text
    assert f"(ref {reference(TRIGGER)})" in text


def test_a_cjk_title_is_shortened_for_x_but_not_for_mastodon() -> None:
    # 80 CJK characters weigh 160 on X; three of them are far over 280.
    title = "故人西辞黄鹤楼" * 12
    options = [title, title, title]
    on_x = compose(Reason.WHICH_PRODUCT, _context(), options=options, limit=_limit(Network.X))
    on_mastodon = compose(
        Reason.WHICH_PRODUCT, _context(), options=options, limit=_limit(Network.MASTODON)
    )
    assert x_weighted_length(on_x) <= 280
    assert on_x.count("…") == 3
    assert mastodon_length(on_mastodon) <= 500
    assert len(on_x) < len(on_mastodon)


def test_a_message_within_the_limit_is_what_it_always_was() -> None:
    unlimited = compose(Reason.ADDED, _context(), title="Enamel mug")
    for limit in LIMITS:
        assert compose(Reason.ADDED, _context(), title="Enamel mug", limit=limit) == unlimited
    assert (
        unlimited
        == f"@shopper Added Enamel mug to your cart at Trailhead Coffee. (ref {reference(TRIGGER)})"
    )


def test_shortening_never_splits_a_grapheme() -> None:
    family = "👩‍👩‍👧‍👦"
    cut = shorten(family * 10, 4)
    assert cut == family * 3 + "…"
    assert graphemes(cut) == 4


def test_cutting_a_title_never_makes_a_trigger_tag() -> None:
    # `#cartons` is no tag; cut to `#cart…` it would be, and our reply would act.
    title = "Mug #cartons " + "x" * 300
    text = compose(Reason.ADDED, _context(), title=title, limit=TextLimit(Network.BLUESKY, 80))
    assert "#cart" not in text.replace("#cartons", "")


def test_right_to_left_controls_in_a_title_cannot_turn_the_code_around() -> None:
    text = compose(Reason.ADDED, _context(), title="Mug\u202e gnp.evil")
    assert "\u202e" not in text


def test_a_mastodon_url_counts_23_whatever_its_length() -> None:
    # docs.joinmastodon.org/entities/Instance/#characters_reserved_per_url
    assert mastodon_length("see https://a.example/" + "p" * 100) == len("see ") + 23
    assert mastodon_length("see https://a.b/") == len("see ") + 23


def test_bluesky_counts_graphemes_and_bytes() -> None:
    limit = _limit(Network.BLUESKY)
    assert limit.fits("👩‍👩‍👧‍👦" * 120)  # 120 graphemes, 3,000 bytes
    assert not limit.fits("👩‍👩‍👧‍👦" * 121)  # 121 graphemes but 3,025 bytes
    assert limit.fits("é" * 300)
    assert not limit.fits("é" * 301)


def test_the_mastodon_server_s_own_limit_is_used() -> None:
    shop = _shop(mastodon_max_characters=120)
    notices = Notices(shop)
    notices.tell(
        Network.MASTODON, "https://social.example/users/a", "a", "110", Reason.ADDED, None,
        title="A very long product title " * 10,
    )  # fmt: skip
    (message,) = notices.messages
    assert 100 < mastodon_length(message.text) <= 120


def test_a_queued_x_reply_fits_in_280() -> None:
    # Fails before the limits: three 80-character CJK titles were queued as they were.
    notices = Notices(_shop())
    notices.tell(
        Network.X, "5001", "shopper", TRIGGER, Reason.WHICH_PRODUCT, None,
        options=["故人西辞黄鹤楼" * 12] * 3,
    )  # fmt: skip
    (message,) = notices.messages
    assert x_weighted_length(message.text) <= 280
    assert message.text.endswith(f"(ref {reference(TRIGGER)})")


def _shop(mastodon_max_characters: int | None = None) -> Shop:
    hosts = ShopHosts(("shop.example",))
    return Shop(
        name="Trailhead Coffee",
        account_url=ACCOUNT_URL,
        words=WORDS,
        max_quantity=10,
        pending_expiry=timedelta(days=7),
        hosts=hosts,
        catalog=Catalog([], hosts),
        link_words=LinkWords.of(("cartlink",), WORDS),
        mastodon_max_characters=mastodon_max_characters,
    )


def test_a_stack_of_combining_marks_is_cut_to_a_sane_grapheme() -> None:
    zalgo = "a" + "\u0301" * 5000
    text = compose(Reason.ADDED, _context(), title=zalgo + " mug", limit=_limit(Network.X))
    assert len(text) < 200
    assert "a" + "\u0301" * 15 + " mug" in text


@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                " ",
                ".",
                ":",
                "/",
                "shop.example",
                "https://t.co/abcdefghij",
                "example.com/path?q=1",
                "http://localhost",
                "@buyer_12",
                "#12",
                "x" * 40,
            ]
        ),
        max_size=40,
    ).map("".join),
    st.integers(min_value=0, max_value=300),
)
def test_an_ascii_x_message_fits_exactly_when_twitter_text_says_so(text: str, maximum: int) -> None:
    """`fits` skips twitter-text for ASCII text clearly within the limit (a live sale's
    burst queues thousands of replies a second); the answer stays twitter-text's."""
    assert TextLimit(Network.X, maximum).fits(text) == (x_weighted_length(text) <= maximum)


_ASCII_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "https://",
                "http://",
                "www.",
                "shop.example",
                "example.com/path?q=1",
                "t.co/abcdefghij",
                "127.0.0.1",
                "http://localhost:8000/x",
                "$24.00",
                "18:00",
                "\r\n",
                "\r",
                "#12",
                "*",
            ]
        ),
        st.text(alphabet=st.characters(max_codepoint=127), max_size=6),
    ),
    max_size=30,
).map("".join)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_ASCII_PIECES)
def test_an_ascii_x_message_counts_what_twitter_text_counts(text: str) -> None:
    """ASCII text is counted without twitter-text's emoji pass (a live sale's winners'
    replies are composed by the thousand in one settle step); the count stays parseTweet's,
    URLs and line endings included."""
    from twitter_text import parse_tweet

    assert x_weighted_length(text) == parse_tweet(text).weightedLength


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_counts_the_graphemes_the_regex_finds(text: str) -> None:
    """`graphemes` counts ASCII text without the regex (CR LF is one cluster, every other
    character one); the answer stays UAX #29's."""
    assert graphemes(text) == len(regex.findall(r"\X", text))


# Short messages with what the networks count apart: URLs (shorter and longer than the 23 a
# URL counts), combining marks, emoji sequences, CR LF, text that NFC composes or expands.
_MIXED_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "https://a.b",
                "http://shop.example/p/" + "x" * 40,
                "://",
                "e\u0301",
                "\u00e9",
                "\u0958",
                "👩‍👩‍👧‍👦",
                "🇫🇷",
                "\r\n",
                " ",
                "x" * 50,
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=30,
).map("".join)


@given(_MIXED_PIECES, st.integers(min_value=0, max_value=600), st.sampled_from([23, 5, 60]))
def test_fits_answers_as_the_full_count_on_mastodon_and_bluesky(
    text: str, maximum: int, per_url: int
) -> None:
    """`fits` skips the grapheme and URL passes for text clearly within the limit (every
    reply a post gets is composed and measured); the answer stays the full count's."""
    mastodon = TextLimit(Network.MASTODON, maximum, per_url)
    assert mastodon.fits(text) == (mastodon_length(text, per_url) <= maximum)
    bluesky = TextLimit(Network.BLUESKY, maximum)
    fits_bluesky = len(text.encode()) <= 3000 and graphemes(text) <= maximum
    assert bluesky.fits(text) == fits_bluesky


@given(_MIXED_PIECES, st.integers(min_value=-1, max_value=80))
def test_shorten_without_the_grapheme_pass_cuts_as_the_graphemes_say(text: str, keep: int) -> None:
    """`shorten` returns short text untouched without reading its graphemes (the shop's
    name in every message); what it returns is what the grapheme count says."""
    clusters = regex.findall(r"\X", unicodedata.normalize("NFC", text))
    if len(clusters) <= keep:
        assert shorten(text, keep) == text
    elif keep <= 0:
        assert shorten(text, keep) == ""
    else:
        assert shorten(text, keep) == "".join(clusters[: keep - 1]).rstrip() + "…"
