"""The byte prefilter, case by case: what it must let through, and the noise it skips."""

from __future__ import annotations

import pytest

from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords
from hashcart.networks.prefilter import Line, Prefilter, check_framing, check_well_formed

PREFILTER = Prefilter.for_shop(TriggerWords(), ShopHosts(["shop.example"]))


@pytest.mark.parametrize(
    "line",
    [
        b'{"text":"#cart please"}',
        b'{"text":"#CART"}',
        b'{"text":"\\uff03cart"}',  # fullwidth hash, JSON-escaped (as X writes it)
        '{"text":"＃cart"}'.encode(),  # fullwidth hash, raw UTF-8
        '{"text":"#ｃａｒｔ"}'.encode(),  # fullwidth letters fold to cart
        b'{"text":"#\\uff43art"}',
        b'{"content":"#<span>wishlist</span>"}',  # Mastodon's hashtag markup
        b'{"payload":"{\\"content\\":\\"#\\\\u003cspan\\\\u003ecart\\"}"}',  # escaped twice
        b'{"delete":{"status":{"id_str":"1"}}}',
        # Bluesky outline tags (no '#' anywhere) and a Bluesky post deletion
        b'{"did":"did:plc:x","commit":{"collection":"app.bsky.feed.post","record":{"tags":["cart"]}}}',
        b'{"did":"did:plc:x","commit":{"operation":"delete","collection":"app.bsky.feed.post"}}',
        b'{"url":"https://SHOP.Example/products/mug"}',
        b'{"url":"https:\\/\\/www.shop.example\\/products\\/mug"}',
    ],
)
def test_lines_that_may_matter_are_wanted(line: bytes) -> None:
    assert PREFILTER.wants(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"text":"#carts and #cartoon, #cartel, #cart2, #art"}',
        b'{"text":"McCartney on the cart"}',
        b'{"text":"#wish"}',
        b'{"url":"https://example.org/products/mug"}',
        b'{"url":"https://shop.test/products/mug"}',
        b'{"text":"nothing to see"' + b" " * 300 + b',"note":"deleted later"}',
    ],
)
def test_noise_is_skipped(line: bytes) -> None:
    assert not PREFILTER.wants(line)


def test_jetstream_events_that_are_no_posts_are_told_apart_without_decoding() -> None:
    like = (
        b'{"did":"did:plc:x","kind":"commit","commit":{"collection":"app.bsky.feed.like",'
        b'"record":{"subject":{"uri":"at://did:plc:y/app.bsky.feed.post/3k2"}},"text":"#cart"}}'
    )
    identity = b'{"did":"did:plc:x","kind":"identity","identity":{"handle":"x.bsky.social"}}'
    post = b'{"did":"did:plc:x","commit":{"collection":"app.bsky.feed.post","record":{}}}'
    for line, kind in ((like, Line.NOT_A_POST), (identity, Line.NOT_A_POST), (post, Line.QUIET)):
        assert PREFILTER.classify(line, 0, len(line), True) is kind


def test_lookalike_hosts_get_through_the_prefilter_and_are_refused_later() -> None:
    # The prefilter is a superset: it only has to miss nothing; ShopHosts decides.
    assert PREFILTER.wants(b'{"url":"https://evil-shop.example.org/x"}')
    assert not ShopHosts(["shop.example"]).matches_url("https://evil-shop.example.org/x")


def test_a_shop_with_no_hosts_wants_no_links_at_all() -> None:
    prefilter = Prefilter.for_shop(TriggerWords(), ShopHosts([]))
    assert not prefilter.wants(b'{"url":"https://shop.example/products/mug"}')
    assert prefilter.wants(b'{"text":"#cart"}')


def test_a_configured_tag_replaces_the_default_words() -> None:
    prefilter = Prefilter.for_shop(TriggerWords(cart=("AmazonCart",)), ShopHosts([]))
    assert prefilter.wants(b'{"text":"#amazoncart"}')
    assert not prefilter.wants(b'{"text":"#cart"}')


def test_framing_catches_cut_lines_and_bad_utf8_but_only_full_validation_sees_inside() -> None:
    assert check_framing(b'{"a": 1}') is None
    assert "malformed" in (check_framing(b'{"a": 1') or "")
    assert "UTF-8" in (check_framing(b'{"a": "\xff"}') or "")
    assert check_framing(b'{"a": }') is None
    assert "malformed JSON" in (check_well_formed(b'{"a": }') or "")
