"""Issue 14: X post text shows the links X expanded (entities.urls[].expanded_url, per
developer.x.com/en/docs/twitter-api/data-dictionary/object-model/entities and
docs.x.com/x-api/fundamentals/data-dictionary) instead of raw t.co ones; a link that is not
fit to show (not http(s), spaces, control characters, overlong) leaves the t.co link as is.

Real payload: ../shared/fixtures/x-v1.1/original_format_examples.json (xdevplatform/
tweet_parser, MIT), the link tweet "Dd) Tweet with a link to some tasty butterscotch sauce"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hashcart.domain.posts import Post
from hashcart.networks.x.decode import decode_v1, decode_v2

LINK_TWEET_ID = "867470833744191488"
SAUCE = "https://smittenkitchen.com/2009/12/ridiculously-easy-butterscotch-sauce/"


def recorded(shared_fixtures: Path, tweet_id: str) -> dict[str, Any]:
    lines = (shared_fixtures / "x-v1.1" / "original_format_examples.json").read_text()
    [tweet] = [t for t in map(json.loads, lines.splitlines()) if t["id_str"] == tweet_id]
    return tweet  # type: ignore[no-any-return]


def v1_text(tweet: dict[str, Any]) -> str:
    [post] = decode_v1(json.dumps(tweet).encode())
    assert isinstance(post, Post)
    return post.text


def test_a_recorded_tweets_t_co_link_shows_as_the_link_x_expanded(shared_fixtures: Path) -> None:
    tweet = recorded(shared_fixtures, LINK_TWEET_ID)
    assert "https://t.co/ZWLglcp74z" in tweet["text"]
    text = v1_text(tweet)
    assert text == f"Dd) Tweet with a link to some tasty butterscotch sauce {SAUCE}"


def test_a_v2_posts_t_co_link_shows_as_the_link_x_expanded() -> None:
    # docs.x.com/x-api/fundamentals/data-dictionary: entities.urls[] url/expanded_url.
    tweet = {
        "id": "1445880000000000000",
        "text": "New mug https://t.co/mug &amp; more",
        "author_id": "99",
        "created_at": "2021-10-06T20:00:00.000Z",
        "edit_history_tweet_ids": ["1445880000000000000"],
        "entities": {
            "urls": [
                {
                    "start": 8,
                    "end": 24,
                    "url": "https://t.co/mug",
                    "expanded_url": "https://shop.example/products/mug?a=1&b=2",
                    "display_url": "shop.example/products/mug?a=…",
                }
            ]
        },
    }
    [post] = decode_v2(json.dumps({"data": tweet}).encode())
    assert isinstance(post, Post)
    assert post.text == "New mug https://shop.example/products/mug?a=1&b=2 & more"


@pytest.mark.parametrize(
    "expanded",
    [
        "javascript:alert(1)",
        "https://shop.example/a b",
        "https://shop.example/\x00",
        "https://shop.example/\u202e",
        "https://shop.example/" + "a" * 3000,
        None,
    ],
    ids=["javascript", "space", "nul", "bidi", "overlong", "missing"],
)
def test_a_link_unfit_to_show_leaves_the_t_co_link(shared_fixtures: Path, expanded: Any) -> None:
    tweet = recorded(shared_fixtures, LINK_TWEET_ID)
    tweet["entities"]["urls"][0]["expanded_url"] = expanded
    tweet["entities"]["urls"][0].pop("unwound", None)
    assert v1_text(tweet).endswith("https://t.co/ZWLglcp74z")
