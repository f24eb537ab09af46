"""X decoders: v1.1 tweets and envelopes (`decode_v1`), v2 stream lines (`decode_v2`).

Real payloads: ../shared/fixtures/x-v1.1/ (xdevplatform/tweet_parser @
test/tweet_payload_examples/, MIT). Payloads written here follow the shapes in
xdevplatform/docs @ x-api/account-activity/introduction.mdx (AAA envelopes),
x-api/fundamentals/data-dictionary.mdx and x-api/posts/filtered-stream/ (v2 lines),
x-api/activity/event-payloads.mdx (Activity API envelopes).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.posts import DecodeError, Network, NotAPost, Post, PostDeleted
from hashcart.networks.x.decode import decode_v1, decode_v2

# --- helpers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tweets(shared_fixtures: Path) -> dict[str, bytes]:
    """The recorded v1.1 tweets, one raw line per `id_str`."""
    lines = (shared_fixtures / "x-v1.1" / "original_format_examples.json").read_bytes()
    return {json.loads(line)["id_str"]: line for line in lines.splitlines()}


def only_posts(events: list[Any]) -> list[Post]:
    assert all(isinstance(e, Post) for e in events), events
    return list(events)


def v1_tweet(**fields: Any) -> dict[str, Any]:
    """A minimal v1.1 tweet in the recorded shape, with `fields` overriding."""
    tweet: dict[str, Any] = {
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "id": 1050118621198921728,
        "id_str": "1050118621198921728",
        "text": "New mug #cart https://t.co/abc",
        "truncated": False,
        "entities": {"hashtags": [{"text": "cart", "indices": [8, 13]}], "urls": []},
        "user": {"id": 6253282, "id_str": "6253282", "screen_name": "TwitterAPI"},
        "in_reply_to_status_id_str": None,
        "is_quote_status": False,
    }
    tweet.update(fields)
    return tweet


def line(obj: Any) -> bytes:
    return json.dumps(obj).encode()


# --- v1.1: tweets -----------------------------------------------------------------------


def test_v1_author_id_is_user_id_str_not_the_handle(tweets: dict[str, bytes]) -> None:
    [post] = only_posts(decode_v1(tweets["867468138991964160"]))
    assert post.network is Network.X
    assert post.post_id == "867468138991964160"
    assert post.author_id == "815279070241955840"
    assert post.author_handle == "RobotPrincessFi"
    assert post.text == "A) This is a regular old Tweet. 🐣"


def test_v1_created_at_is_aware_utc(tweets: dict[str, bytes]) -> None:
    [post] = decode_v1(tweets["867468138991964160"])
    assert isinstance(post, Post)
    assert post.created_at == datetime(2017, 5, 24, 19, 51, 35, tzinfo=UTC)
    assert post.created_at.utcoffset() == timedelta(0)


def test_v1_created_at_offset_is_converted_to_utc() -> None:
    [post] = decode_v1(line(v1_tweet(created_at="Wed Oct 10 20:19:24 -0130 2018")))
    assert isinstance(post, Post)
    assert post.created_at == datetime(2018, 10, 10, 21, 49, 24, tzinfo=UTC)


def test_v1_unreadable_created_at_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="created_at"):
        decode_v1(line(v1_tweet(created_at="yesterday")))


def test_v1_hashtags_come_from_entities(tweets: dict[str, bytes]) -> None:
    [post] = decode_v1(tweets["872836379595620353"])
    assert isinstance(post, Post)
    assert post.tags == ("Tweet", "hashtag")


def test_v1_entities_without_hashtags_give_empty_tags_not_none(tweets: dict[str, bytes]) -> None:
    [post] = decode_v1(tweets["867468138991964160"])
    assert isinstance(post, Post)
    assert post.tags == ()


def test_v1_no_entities_object_gives_tags_none() -> None:
    tweet = v1_tweet()
    del tweet["entities"]
    [post] = decode_v1(line(tweet))
    assert isinstance(post, Post)
    assert post.tags is None


def test_v1_reply_carries_parent_id(tweets: dict[str, bytes]) -> None:
    [post] = decode_v1(tweets["867468929492332544"])
    assert isinstance(post, Post)
    assert post.reply_to_id == "863566329168711681"
    assert post.quote_of_id is None


def test_v1_quote_returns_the_quoted_post_after_the_quoting_one(
    tweets: dict[str, bytes],
) -> None:
    outer, quoted = only_posts(decode_v1(tweets["872836479608733696"]))
    assert outer.post_id == "872836479608733696"
    assert outer.quote_of_id == "872836379595620353"
    assert outer.tags == ("QuoteTweet", "hashtags")
    assert quoted.post_id == "872836379595620353"
    assert quoted.tags == ("Tweet", "hashtag")
    assert not quoted.is_repost


def test_v1_retweet_is_a_repost_and_brings_the_original(tweets: dict[str, bytes]) -> None:
    # The retweet's own text is cut ("https://t.c…") and its entities hold no link;
    # the link lives in the embedded original.
    retweet, original = only_posts(decode_v1(tweets["867478524235366400"]))
    assert retweet.is_repost
    assert retweet.urls == ()
    assert original.post_id == "861651727614746624"
    assert original.author_handle == "notFromShrek"
    assert not original.is_repost
    assert original.urls == (
        "https://github.com/fionapigott/character-encoding/blob/master/character_encoding.pdf",
    )


def test_v1_truncated_tweet_uses_extended_text_and_entities(tweets: dict[str, bytes]) -> None:
    post = only_posts(decode_v1(tweets["867479301360205824"]))[0]
    assert not post.text.endswith("https://t.co/QpqFmEDBLQ")  # the cut root-level text
    assert "🧙\u200d♂️\xa0Magic!" in post.text
    # root entities only hold the "twitter.com/i/web/status/..." stub link
    assert post.urls == ("https://twitter.com/notFromShrek/status/861652051016663040",)


def test_v1_unwound_url_is_preferred_over_expanded_url(tweets: dict[str, bytes]) -> None:
    # Recorded: expanded_url https://smittenkitchen.com/..., unwound.url http://...
    [post] = decode_v1(tweets["867470833744191488"])
    assert isinstance(post, Post)
    assert post.urls == ("http://smittenkitchen.com/2009/12/ridiculously-easy-butterscotch-sauce/",)


def test_v1_expanded_url_then_url_when_nothing_better() -> None:
    urls = [
        {"url": "https://t.co/a", "expanded_url": "https://shop.example/p/1"},
        {"url": "https://t.co/b", "expanded_url": None},
    ]
    [post] = decode_v1(line(v1_tweet(entities={"hashtags": [], "urls": urls})))
    assert isinstance(post, Post)
    assert post.urls == ("https://shop.example/p/1", "https://t.co/b")


def test_v1_text_has_x_html_escapes_undone(tweets: dict[str, bytes]) -> None:
    # Recorded text: "G) 140 chars &amp; replies."
    [post] = decode_v1(tweets["867472736871866368"])
    assert isinstance(post, Post)
    assert "140 chars & replies." in post.text
    assert "&amp;" not in post.text


def test_v1_escapes_are_undone_once_only() -> None:
    [post] = decode_v1(line(v1_tweet(text="a &amp;lt; b &lt;3 &gt;")))
    assert isinstance(post, Post)
    assert post.text == "a &lt; b <3 >"


def test_v1_full_text_is_used_in_extended_mode() -> None:
    tweet = v1_tweet(full_text="the whole #cart text")
    del tweet["text"]
    [post] = decode_v1(line(tweet))
    assert isinstance(post, Post)
    assert post.text == "the whole #cart text"


def test_v1_edit_history_with_an_earlier_initial_id_is_an_edit() -> None:
    edited = v1_tweet(edit_history={"initial_tweet_id": "1", "edit_tweet_ids": ["1", "2"]})
    original = v1_tweet(
        edit_history={"initial_tweet_id": "1050118621198921728", "edit_tweet_ids": []}
    )
    listed = v1_tweet(edit_history_tweet_ids=["1", "1050118621198921728"])
    assert [p.is_edit for p in only_posts(decode_v1(line(edited)))] == [True]
    assert [p.is_edit for p in only_posts(decode_v1(line(original)))] == [False]
    assert [p.is_edit for p in only_posts(decode_v1(line(listed)))] == [True]


def test_v1_tweet_without_user_is_a_decode_error(shared_fixtures: Path) -> None:
    raw = (shared_fixtures / "x-v1.1" / "broken" / "original_format_missing_user.json").read_bytes()
    with pytest.raises(DecodeError, match=r"user\.id_str"):
        decode_v1(raw)


def test_v1_tweet_without_id_str_is_a_decode_error() -> None:
    tweet = v1_tweet()
    del tweet["id_str"]
    with pytest.raises(DecodeError, match="id_str"):
        decode_v1(line(tweet))


def test_v1_embedded_post_without_user_is_skipped_not_fatal(shared_fixtures: Path) -> None:
    # The recorded quoted_status here lacks `user`: the quoting post still decodes.
    raw = (
        shared_fixtures / "x-v1.1" / "broken" / "original_format_missing_quotetweet_field.json"
    ).read_bytes()
    [post] = only_posts(decode_v1(raw))
    assert post.post_id == "867479301360205824"
    assert post.quote_of_id == "861652051016663040"


# --- v1.1: envelopes and notices --------------------------------------------------------


def test_v1_account_activity_create_events_give_each_tweet(tweets: dict[str, bytes]) -> None:
    reply = json.loads(tweets["867468929492332544"])
    quote = json.loads(tweets["872836479608733696"])
    envelope = {"for_user_id": "2244994945", "tweet_create_events": [reply, quote]}
    posts = only_posts(decode_v1(line(envelope)))
    assert [p.post_id for p in posts] == [
        "867468929492332544",
        "872836479608733696",
        "872836379595620353",
    ]


def test_v1_account_activity_delete_events_are_deletions() -> None:
    envelope = {
        "for_user_id": "930524282358325248",
        "tweet_delete_events": [
            {
                "status": {"id": "1045405559317569537", "user_id": "930524282358325248"},
                "timestamp_ms": "1432228155593",
            }
        ],
    }
    assert decode_v1(line(envelope)) == [PostDeleted(Network.X, "1045405559317569537")]


def test_v1_stream_delete_notice_is_a_deletion() -> None:
    notice = {
        "delete": {
            "status": {"id": 1234, "id_str": "1234", "user_id": 3, "user_id_str": "3"},
            "timestamp_ms": "1432228155593",
        }
    }
    assert decode_v1(line(notice)) == [PostDeleted(Network.X, "1234")]


def test_v1_delete_without_an_id_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no status id"):
        decode_v1(line({"delete": {"status": {}}}))


@pytest.mark.parametrize("key", ["favorite_events", "follow_events", "user_event"])
def test_v1_other_account_activity_envelopes_are_not_posts(key: str) -> None:
    envelope = {"for_user_id": "2244994945", key: [{"id": "1"}]}
    assert decode_v1(line(envelope)) == [NotAPost(Network.X, key)]


def test_v1_stream_limit_notice_is_not_a_post() -> None:
    notice = {"limit": {"track": 5, "timestamp_ms": "1432228155593"}}
    assert decode_v1(line(notice)) == [NotAPost(Network.X, "limit")]


# --- v1.1: bad input --------------------------------------------------------------------


def test_v1_malformed_json_says_so() -> None:
    with pytest.raises(DecodeError, match=r"^malformed JSON"):
        decode_v1(b'{"id_str": "1",')


@pytest.mark.parametrize("raw", [b"[]", b'"tweet"', b"1", b"null"])
def test_v1_json_that_is_not_an_object_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="Expected `object`"):
        decode_v1(raw)


def test_v1_empty_object_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"not an X v1\.1 tweet"):
        decode_v1(b"{}")


def test_v1_wrong_field_type_is_a_decode_error_naming_the_field() -> None:
    with pytest.raises(DecodeError, match=r"\$\.text"):
        decode_v1(line(v1_tweet(text=5)))


def test_v1_invalid_utf8_in_a_skipped_field_is_a_decode_error() -> None:
    raw = line(v1_tweet()).replace(b'"truncated"', b'"junk": "\xff\xfe", "truncated"')
    with pytest.raises(DecodeError, match="invalid UTF-8"):
        decode_v1(raw)


# --- v2 ---------------------------------------------------------------------------------


def v2_tweet(**fields: Any) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": "1445880548472328192",
        "text": "@northwind #cart please",
        "author_id": "2244994945",
        "created_at": "2021-10-06T22:48:45.000Z",
        "conversation_id": "1445880000000000000",
        "edit_history_tweet_ids": ["1445880548472328192"],
        "referenced_tweets": [{"type": "replied_to", "id": "1445880000000000000"}],
        "entities": {
            "hashtags": [{"start": 11, "end": 16, "tag": "cart"}],
            "mentions": [{"start": 0, "end": 10, "username": "northwind", "id": "99"}],
        },
    }
    tweet.update(fields)
    return tweet


PARENT = {
    "id": "1445880000000000000",
    "text": "New mug https://t.co/mug",
    "author_id": "99",
    "created_at": "2021-10-06T20:00:00.000Z",
    "edit_history_tweet_ids": ["1445880000000000000"],
    "entities": {
        "urls": [
            {
                "start": 8,
                "end": 24,
                "url": "https://t.co/mug",
                "expanded_url": "https://bit.ly/mug",
                "display_url": "bit.ly/mug",
                "unwound_url": "https://www.northwind-goods.example/dp/B0HCMUG001",
                "status": 200,
            }
        ]
    },
}
USERS = [{"id": "2244994945", "username": "shopper"}, {"id": "99", "username": "northwind"}]


def stream_line(data: Any, **extra: Any) -> bytes:
    obj: dict[str, Any] = {
        "data": data,
        "includes": {"users": USERS, "tweets": [PARENT]},
        "matching_rules": [{"id": "1166916266197536768", "tag": "northwind"}],
    }
    obj.update(extra)
    return line(obj)


def test_v2_stream_line_gives_the_post_then_its_included_parent() -> None:
    reply, parent = only_posts(decode_v2(stream_line(v2_tweet())))
    assert reply.post_id == "1445880548472328192"
    assert reply.author_id == "2244994945"
    assert reply.author_handle == "shopper"
    assert reply.reply_to_id == "1445880000000000000"
    assert reply.tags == ("cart",)
    assert reply.created_at == datetime(2021, 10, 6, 22, 48, 45, tzinfo=UTC)
    assert parent.post_id == "1445880000000000000"
    assert parent.author_handle == "northwind"


def test_v2_unwound_url_is_preferred() -> None:
    _, parent = only_posts(decode_v2(stream_line(v2_tweet())))
    assert parent.urls == ("https://www.northwind-goods.example/dp/B0HCMUG001",)


def test_v2_tags_are_empty_with_entities_and_none_without() -> None:
    _, parent = only_posts(decode_v2(stream_line(v2_tweet())))
    no_entities = v2_tweet()
    del no_entities["entities"]
    [bare] = only_posts(decode_v2(line({"data": no_entities})))
    assert parent.tags == ()
    assert bare.tags is None


def test_v2_lookup_response_with_a_data_list_gives_every_post() -> None:
    other = v2_tweet(id="1445880548472328193", edit_history_tweet_ids=["1445880548472328193"])
    posts = only_posts(decode_v2(stream_line([v2_tweet(), other])))
    assert [p.post_id for p in posts] == [
        "1445880548472328192",
        "1445880548472328193",
        "1445880000000000000",
    ]


def test_v2_missing_user_expansion_gives_an_empty_handle() -> None:
    raw = line({"data": v2_tweet()})
    [post] = only_posts(decode_v2(raw))
    assert post.author_handle == ""


def test_v2_long_post_uses_note_tweet_text_and_entities() -> None:
    note = {
        "text": "x" * 300 + " #cart https://shop.example/p/9",
        "entities": {
            "hashtags": [{"start": 301, "end": 306, "tag": "cart"}],
            "urls": [{"url": "https://t.co/9", "expanded_url": "https://shop.example/p/9"}],
        },
    }
    [post] = only_posts(decode_v2(line({"data": v2_tweet(text="x" * 280, note_tweet=note)})))
    assert post.text.endswith("#cart https://shop.example/p/9")
    assert post.tags == ("cart",)
    assert post.urls == ("https://shop.example/p/9",)


def test_v2_note_tweet_without_entities_leaves_tags_to_the_text() -> None:
    tweet = v2_tweet(note_tweet={"text": "y" * 300 + " #cart"})
    [post] = only_posts(decode_v2(line({"data": tweet})))
    assert post.text.endswith("#cart")
    assert post.tags is None


def test_v2_quote_and_retweet_references() -> None:
    quote = v2_tweet(referenced_tweets=[{"type": "quoted", "id": "5"}])
    retweet = v2_tweet(referenced_tweets=[{"type": "retweeted", "id": "6"}])
    [q] = only_posts(decode_v2(line({"data": quote})))
    [r] = only_posts(decode_v2(line({"data": retweet})))
    assert (q.quote_of_id, q.reply_to_id, q.is_repost) == ("5", None, False)
    assert (r.quote_of_id, r.reply_to_id, r.is_repost) == (None, None, True)


def test_v2_openapi_field_spellings_are_read_too() -> None:
    tweet = v2_tweet(referenced_posts=[{"type": "replied_to", "id": "7"}])
    del tweet["referenced_tweets"]
    [post] = only_posts(decode_v2(line({"data": tweet})))
    assert post.reply_to_id == "7"


def test_v2_edit_history_starting_elsewhere_is_an_edit() -> None:
    edited = v2_tweet(edit_history_tweet_ids=["1445880548472328100", "1445880548472328192"])
    [post] = only_posts(decode_v2(line({"data": edited})))
    [original] = only_posts(decode_v2(line({"data": v2_tweet()})))
    assert post.is_edit
    assert not original.is_edit


def test_v2_missing_created_at_falls_back_to_the_snowflake_time(tweets: dict[str, bytes]) -> None:
    # Recorded v1.1 tweet 867468138991964160 says created_at Wed May 24 19:51:35 2017.
    tweet = v2_tweet(id="867468138991964160", edit_history_tweet_ids=["867468138991964160"])
    del tweet["created_at"]
    [post] = only_posts(decode_v2(line({"data": tweet})))
    [v1] = only_posts(decode_v1(tweets["867468138991964160"]))
    assert abs(post.created_at - v1.created_at) < timedelta(seconds=1)


@pytest.mark.parametrize("post_id", ["²", "abc", "9" * 30])
def test_v2_missing_created_at_and_a_non_snowflake_id_is_a_decode_error(post_id: str) -> None:
    tweet = v2_tweet(id=post_id)
    del tweet["created_at"]
    with pytest.raises(DecodeError, match="no created_at"):
        decode_v2(line({"data": tweet}))


def test_v2_text_escapes_are_undone() -> None:
    [post] = only_posts(decode_v2(line({"data": v2_tweet(text="mugs &amp; cups &lt;3")})))
    assert post.text == "mugs & cups <3"


def test_v2_errors_only_line_is_not_a_post() -> None:
    raw = line({"errors": [{"title": "operational-disconnect", "type": "about:blank"}]})
    assert decode_v2(raw) == [NotAPost(Network.X, "error")]


def test_v2_post_without_author_id_is_a_decode_error() -> None:
    tweet = v2_tweet()
    del tweet["author_id"]
    with pytest.raises(DecodeError, match="author_id"):
        decode_v2(line({"data": tweet}))


def test_v2_included_post_without_author_is_skipped() -> None:
    parent = {k: v for k, v in PARENT.items() if k != "author_id"}
    raw = line({"data": v2_tweet(), "includes": {"tweets": [parent], "users": USERS}})
    assert [p.post_id for p in only_posts(decode_v2(raw))] == ["1445880548472328192"]


def test_v2_line_without_data_or_errors_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="neither data nor errors"):
        decode_v2(b'{"includes": {}}')


def test_v2_activity_api_reply_event_carries_the_post() -> None:
    event = {
        "data": {
            "event_uuid": "2080765813578191303",
            "filter": {"user_id": "99"},
            "event_type": "post.reply.create",
            "payload": v2_tweet(),
            "includes": {"users": USERS},
        }
    }
    [post] = only_posts(decode_v2(line(event)))
    assert post.post_id == "1445880548472328192"
    assert post.author_handle == "shopper"


def test_v2_activity_api_delete_and_other_events() -> None:
    delete = {
        "data": {
            "event_type": "post.delete",
            "payload": {"id": "2080761269309813134", "author_id": "1111111111111111111"},
        }
    }
    like = {"data": {"event_type": "like.create", "payload": {"id": "1"}}}
    assert decode_v2(line(delete)) == [PostDeleted(Network.X, "2080761269309813134")]
    assert decode_v2(line(like)) == [NotAPost(Network.X, "like.create")]


def test_v2_compliance_delete_is_a_deletion() -> None:
    event = {"data": {"delete": {"tweet": {"id": "1", "author_id": "2"}, "event_at": "x"}}}
    assert decode_v2(line(event)) == [PostDeleted(Network.X, "1")]


def test_v2_wrong_shape_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"\$\.data"):
        decode_v2(b'{"data": "1445880548472328192"}')


# --- properties -------------------------------------------------------------------------

_V1_KEYS = [
    "id_str", "created_at", "user", "text", "full_text", "truncated", "extended_tweet",
    "entities", "hashtags", "urls", "expanded_url", "unwound", "url", "screen_name",
    "in_reply_to_status_id_str", "quoted_status", "retweeted_status", "edit_history",
    "initial_tweet_id", "edit_history_tweet_ids", "for_user_id", "tweet_create_events",
    "tweet_delete_events", "delete", "status", "id", "limit",
]  # fmt: skip
_V2_KEYS = [
    "data", "includes", "errors", "id", "text", "author_id", "created_at", "entities",
    "hashtags", "tag", "urls", "unwound_url", "note_tweet", "referenced_tweets", "type",
    "edit_history_tweet_ids", "users", "username", "tweets", "event_type", "payload", "delete",
    "tweet",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(["Wed Oct 10 20:19:24 +0000 2018", "2021-10-06T22:48:45.000Z", "1"]),
)


def _shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON built from the format's own keys, so fuzzing reaches past the first check."""
    return st.recursive(
        _SCALARS,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(keys), inner, max_size=6)
        ),
        max_leaves=25,
    )


@given(_shaped(_V1_KEYS))
def test_v1_any_json_gives_events_or_decode_error(value: Any) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode_v1(line(value)), list)


@given(_shaped(_V2_KEYS))
def test_v2_any_json_gives_events_or_decode_error(value: Any) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode_v2(line(value)), list)
