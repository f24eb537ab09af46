"""Bluesky Jetstream v1 decoder.

Real payloads: ../shared/fixtures/bluesky-jetstream/ (bluesky-social/jetstream @
internal/corpus/testdata/expected_v1.jsonl and internal/subscribe/testdata/golden_v1.jsonl,
MIT / Apache-2.0). Payloads written here follow those lines and the lexicons
app.bsky.feed.post, app.bsky.richtext.facet, app.bsky.embed.{external,record,
recordWithMedia} (bluesky-social/bsky-docs @ atproto-openapi-types/lexicons/).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.posts import DecodeError, Network, NotAPost, Post, PostDeleted
from hashcart.networks.bluesky.decode import decode

DID = "did:plc:q235v55g5unth4zjjdpacfdr"


@pytest.fixture(scope="module")
def corpus(shared_fixtures: Path) -> list[bytes]:
    return (shared_fixtures / "bluesky-jetstream" / "expected_v1.jsonl").read_bytes().splitlines()


@pytest.fixture(scope="module")
def golden(shared_fixtures: Path) -> list[bytes]:
    return (shared_fixtures / "bluesky-jetstream" / "golden_v1.jsonl").read_bytes().splitlines()


def by_rkey(lines: list[bytes], rkey: str) -> bytes:
    return next(raw for raw in lines if f'"rkey":"{rkey}"'.encode() in raw)


def only_post(events: list[Any]) -> Post:
    [post] = events
    assert isinstance(post, Post), post
    return post


def event(record: dict[str, Any] | None = None, **commit: Any) -> bytes:
    """A Jetstream v1 commit line for a post, in the recorded shape."""
    body: dict[str, Any] = {
        "rev": "3mmoojpaqkn2z",
        "operation": "create",
        "collection": "app.bsky.feed.post",
        "rkey": "3mmoojp4cd223",
        "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzfys",
    }
    if record is not None:
        body["record"] = {
            "$type": "app.bsky.feed.post",
            "createdAt": "2026-05-25T14:23:28.757Z",
            "langs": ["en"],
            "text": "",
            **record,
        }
    body.update(commit)
    return json.dumps(
        {"did": DID, "time_us": 1779719009157119, "kind": "commit", "commit": body}
    ).encode()


def tag(name: str, start: int = 0, end: int = 1) -> dict[str, Any]:
    return {
        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": name}],
        "index": {"byteStart": start, "byteEnd": end},
    }


def link(uri: str, start: int = 0, end: int = 1) -> dict[str, Any]:
    return {
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        "index": {"byteStart": start, "byteEnd": end},
    }


# --- posts ------------------------------------------------------------------------------


def test_reply_post_ids_author_time_and_parent(golden: list[bytes]) -> None:
    post = only_post(decode(by_rkey(golden, "3mmoojp4cd223")))
    assert post.network is Network.BLUESKY
    assert post.post_id == f"at://{DID}/app.bsky.feed.post/3mmoojp4cd223"
    assert post.author_id == DID
    assert post.author_handle == ""
    assert post.text == "Try RSV for a good time !!"
    assert post.created_at == datetime(2026, 5, 25, 14, 23, 28, 757000, tzinfo=UTC)
    assert post.reply_to_id == (
        "at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26"
    )
    assert not post.is_edit
    assert not post.is_repost


def test_post_without_facets_or_tags_leaves_tags_none(golden: list[bytes]) -> None:
    assert only_post(decode(by_rkey(golden, "3mmoojp4cd223"))).tags is None


def test_tag_facets_give_tags(corpus: list[bytes]) -> None:
    post = only_post(decode(by_rkey(corpus, "3mptbypfywk2v")))
    assert post.tags == ("HowToTellAiToShutUp", "IndieRebellion")


def test_link_facet_holds_the_full_uri_the_text_shortens(corpus: list[bytes]) -> None:
    post = only_post(decode(by_rkey(corpus, "3mptbyo7tas2u")))
    assert "www.tumblr.com/tempo-tales/..." in post.text
    assert post.urls == (
        "https://www.tumblr.com/tempo-tales/765681292369166336/"
        "behind-them-timmi-and-wankyu-follow-silently-but?source=share",
    )
    assert post.tags == ("talesatwonderworld", "balanwonderworldoc")


def test_facets_with_only_links_give_empty_tags(corpus: list[bytes]) -> None:
    post = only_post(decode(by_rkey(corpus, "3mptbypt22l26")))
    assert post.tags == ()
    assert post.urls == ("https://denikn.cz/2113523",)


def test_link_facet_and_external_embed_of_the_same_url_count_once(corpus: list[bytes]) -> None:
    post = only_post(decode(by_rkey(corpus, "3mptbyoeyc22k")))
    assert post.urls == ("https://www.youtube.com/watch?v=V5lDo-jw8mA",)


def test_external_embed_uri_is_a_link(corpus: list[bytes]) -> None:
    # Recorded with Go's escaping: "\u0026" in the URI's query.
    post = only_post(decode(by_rkey(corpus, "3mptbyproxc2q")))
    assert post.text == ""
    assert post.urls == (
        "https://static.klipy.com/ii/f87f46a2c5aeaeed4c68910815f73eaf/7d/09/g1bpFVOm.gif"
        "?hh=498&ww=498&mp4=IrGBygbn&webm=1Tnl61JE",
    )


def test_outline_tags_join_facet_tags() -> None:
    raw = event({"text": "#mug", "facets": [tag("mug", 0, 4)], "tags": ["cart", "mug"]})
    assert only_post(decode(raw)).tags == ("mug", "cart")


def test_outline_tags_alone_are_tags() -> None:
    assert only_post(decode(event({"text": "x", "tags": ["cart"]}))).tags == ("cart",)


def test_multibyte_text_and_odd_offsets_do_not_matter() -> None:
    text = "🛒🛒 #cart https://shop.example/p/1"
    facets = [tag("cart", 9, 14), link("https://shop.example/p/1", 9999, -3)]
    facets.append({"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]})
    facets.append({"index": "nonsense", "features": []})
    post = only_post(decode(event({"text": text, "facets": facets})))
    assert post.text == text
    assert post.tags == ("cart", "x")
    assert post.urls == ("https://shop.example/p/1",)


def test_record_embed_is_a_quote() -> None:
    quoted = "at://did:plc:shop/app.bsky.feed.post/3kmug"
    embed = {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafy"}}
    assert only_post(decode(event({"text": "#cart", "embed": embed}))).quote_of_id == quoted


def test_record_with_media_is_a_quote_and_its_external_a_link() -> None:
    quoted = "at://did:plc:shop/app.bsky.feed.post/3kmug"
    embed = {
        "$type": "app.bsky.embed.recordWithMedia",
        "record": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafy"}},
        "media": {
            "$type": "app.bsky.embed.external",
            "external": {"uri": "https://shop.example/p/2", "title": "", "description": ""},
        },
    }
    post = only_post(decode(event({"text": "#cart", "embed": embed})))
    assert post.quote_of_id == quoted
    assert post.urls == ("https://shop.example/p/2",)


def test_update_is_an_edit() -> None:
    assert only_post(decode(event({"text": "fixed"}, operation="update"))).is_edit


def test_unreadable_created_at_falls_back_to_time_us() -> None:
    post = only_post(decode(event({"text": "x", "createdAt": "soon"})))
    assert post.created_at == datetime(2026, 5, 25, 14, 23, 29, 157119, tzinfo=UTC)


def test_created_at_offset_is_converted_to_utc() -> None:
    post = only_post(decode(event({"text": "x", "createdAt": "2026-05-25T16:23:28+02:00"})))
    assert post.created_at == datetime(2026, 5, 25, 14, 23, 28, tzinfo=UTC)


# --- other events -----------------------------------------------------------------------


def test_post_delete_is_a_deletion(corpus: list[bytes]) -> None:
    assert decode(by_rkey(corpus, "3mpt73z3ejc2p")) == [
        PostDeleted(
            Network.BLUESKY,
            "at://did:plc:4smmjsqf6l5jkzczvw6vsrqc/app.bsky.feed.post/3mpt73z3ejc2p",
        )
    ]


@pytest.mark.parametrize(
    ("rkey", "kind"),
    [
        ("3mmoojp7etg2g", "app.bsky.feed.like"),
        ("3mmoojpbade2i", "app.bsky.feed.repost"),
        ("3mmoojocxvr2s", "app.bsky.graph.follow"),
        ("self", "app.bsky.actor.profile"),
        ("3mmontn3gnc2e", "org.hypercerts.claim.activity"),
    ],
)
def test_other_collections_are_not_posts(golden: list[bytes], rkey: str, kind: str) -> None:
    assert decode(by_rkey(golden, rkey)) == [NotAPost(Network.BLUESKY, kind)]


@pytest.mark.parametrize("kind", ["identity", "account"])
def test_identity_and_account_events_are_not_posts(golden: list[bytes], kind: str) -> None:
    raw = next(r for r in golden if f'"kind":"{kind}"'.encode() in r)
    assert decode(raw) == [NotAPost(Network.BLUESKY, kind)]


def test_other_collections_records_are_not_parsed() -> None:
    weird = {"text": 5, "embed": "x", "facets": {"no": "list"}}
    raw = event(weird, collection="com.example.thing")
    assert decode(raw) == [NotAPost(Network.BLUESKY, "com.example.thing")]


# --- bad input --------------------------------------------------------------------------


def test_event_without_did_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no did"):
        decode(b'{"kind": "commit", "time_us": 1}')


def test_event_without_kind_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no kind"):
        decode(b'{"did": "did:plc:x"}')


def test_post_create_without_record_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no record"):
        decode(event(None))


def test_post_with_wrong_record_shape_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"\$\.text"):
        decode(event({"text": ["not", "text"]}))


def test_post_with_unknown_operation_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="operation"):
        decode(event({"text": "x"}, operation="upsert"))


def test_malformed_json_is_a_decode_error(corpus: list[bytes]) -> None:
    with pytest.raises(DecodeError, match=r"^malformed JSON"):
        decode(corpus[0][:-5])


# --- properties -------------------------------------------------------------------------

_KEYS = [
    "did", "time_us", "kind", "commit", "operation", "collection", "rkey", "record", "text",
    "createdAt", "facets", "features", "$type", "tag", "uri", "tags", "reply", "parent",
    "embed", "external", "media", "index", "byteStart",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(["commit", "create", "update", "delete", "app.bsky.feed.post",
                     "app.bsky.richtext.facet#tag", "app.bsky.richtext.facet#link",
                     "app.bsky.embed.external", "app.bsky.embed.record",
                     "app.bsky.embed.recordWithMedia", "2026-05-25T14:23:28.757Z"]),
)  # fmt: skip


@given(
    st.recursive(
        _SCALARS,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)
        ),
        max_leaves=30,
    )
)
def test_any_json_gives_events_or_decode_error(value: Any) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode(json.dumps(value).encode()), list)


@given(st.integers(), st.text(max_size=30))
def test_any_time_gives_a_post_or_decode_error(time_us: int, created_at: str) -> None:
    obj = json.loads(event({"text": "x", "createdAt": created_at}))
    obj["time_us"] = time_us
    try:
        post = only_post(decode(json.dumps(obj).encode()))
        assert post.created_at.utcoffset() is not None
    except DecodeError:
        pass
