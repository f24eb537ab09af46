"""Format detection and dispatch.

Real payloads: ../shared/fixtures (x-v1.1: xdevplatform/tweet_parser, MIT;
bluesky-jetstream: bluesky-social/jetstream, MIT/Apache-2.0; mastodon: halcy/Mastodon.py
cassettes, MIT). Hand-written lines follow the shapes cited in the per-network tests.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.posts import DecodeError, Network, NotAPost, Post, PostDeleted
from hashcart.networks.formats import Format, decode, detect


def line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def test_format_values_are_the_cli_spellings() -> None:
    assert [f.value for f in Format] == ["auto", "x", "x-v2", "mastodon", "jetstream"]


# --- detection on recorded payloads -----------------------------------------------------


def test_every_recorded_x_line_is_detected_as_x(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "x-v1.1"
    files = [folder / "original_format_examples.json", *sorted((folder / "broken").glob("*"))]
    lines = [raw for path in files for raw in path.read_bytes().splitlines()]
    assert len(lines) == 29
    assert {detect(raw) for raw in lines} == {Format.X}


def test_every_recorded_jetstream_line_is_detected_as_jetstream(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "bluesky-jetstream"
    lines = [r for p in sorted(folder.glob("*.jsonl")) for r in p.read_bytes().splitlines()]
    assert len(lines) == 162
    assert {detect(raw) for raw in lines} == {Format.JETSTREAM}


def test_every_recorded_mastodon_status_and_notification_is_mastodon(
    shared_fixtures: Path,
) -> None:
    seen = 0
    for path in sorted((shared_fixtures / "mastodon").glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            body = interaction["response"]["body"]["string"]
            if not body.startswith(("{", "[")):
                continue
            value = json.loads(body)
            for item in value if isinstance(value, list) else [value]:
                if "account" in item:  # statuses and notifications, not instance/account info
                    assert detect(line(item)) is Format.MASTODON, path.name
                    seen += 1
    assert seen >= 20


# --- detection on the other shapes ------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"for_user_id": "1", "tweet_create_events": []}, Format.X),
        ({"for_user_id": "1", "tweet_delete_events": []}, Format.X),
        ({"for_user_id": "1", "favorite_events": []}, Format.X),
        ({"delete": {"status": {"id_str": "1"}}}, Format.X),
        ({"data": {"id": "1", "text": "t"}, "includes": {}}, Format.X_V2),
        ({"includes": {"users": []}, "data": [{"id": "1"}]}, Format.X_V2),
        ({"data": {"delete": {"tweet": {"id": "1"}}}}, Format.X_V2),
        ({"errors": [{"title": "operational-disconnect"}]}, Format.X_V2),
        ({"stream": ["user"], "event": "delete", "payload": "1"}, Format.MASTODON),
        ({"event": "status.created", "created_at": "x", "object": {}}, Format.MASTODON),
        ({"id": "1", "account": {"uri": "https://h/u/a"}, "content": ""}, Format.MASTODON),
        ({"did": "did:plc:x", "time_us": 1, "kind": "identity"}, Format.JETSTREAM),
    ],
)
def test_detect_shapes(obj: dict[str, Any], expected: Format) -> None:
    assert detect(line(obj)) is expected


def test_detect_ignores_keys_quoted_inside_post_text() -> None:
    # Quotes inside a JSON string are escaped, so `"did":` in text is not a key.
    status = {
        "id": "1",
        "content": '<p>{"kind": 1, "did": 2, "id_str": 3, "data": 4}</p>',
        "account": {"uri": "https://h/u/a"},
    }
    assert detect(line(status)) is Format.MASTODON


@pytest.mark.parametrize("raw", [b"", b"{}", b"[]", b"hello", b'{"id": "1"}'])
def test_detect_without_a_fitting_format_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="unknown format"):
        detect(raw)


@given(st.binary(max_size=200))
def test_detect_never_says_auto(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        assert detect(raw) is not Format.AUTO


# --- dispatch ---------------------------------------------------------------------------


def test_auto_decodes_with_the_detected_format(shared_fixtures: Path) -> None:
    raw = (shared_fixtures / "bluesky-jetstream" / "golden_v1.jsonl").read_bytes().splitlines()[1]
    [post] = decode(raw, Format.AUTO)
    assert isinstance(post, Post)
    assert post.network is Network.BLUESKY
    assert decode(raw, Format.JETSTREAM) == [post]


def test_explicit_format_is_used_without_detection() -> None:
    # Detection would say Mastodon; told it is X v1.1, the decoder rejects it.
    raw = line({"stream": ["user"], "event": "delete", "payload": "1"})
    assert decode(raw, Format.MASTODON) == [PostDeleted(Network.MASTODON, "1")]
    with pytest.raises(DecodeError):
        decode(raw, Format.X)


def test_auto_passes_non_posts_through() -> None:
    raw = line({"did": "did:plc:x", "time_us": 1, "kind": "account", "account": {}})
    assert decode(raw, Format.AUTO) == [NotAPost(Network.BLUESKY, "account")]


def test_auto_on_an_unknown_line_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="unknown format"):
        decode(b'{"hello": "world"}', Format.AUTO)


# --- properties: every decoder, any input -----------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@pytest.mark.parametrize("fmt", list(Format))
@given(raw=st.binary(max_size=300))
def test_any_bytes_give_events_or_decode_error(fmt: Format, raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode(raw, fmt), list)


@pytest.mark.parametrize("fmt", list(Format))
@given(value=_json)
def test_any_json_gives_events_or_decode_error(fmt: Format, value: Any) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode(json.dumps(value).encode(), fmt), list)


@pytest.mark.parametrize("fmt", list(Format))
@given(prefix=st.binary(max_size=40), depth=st.integers(min_value=1, max_value=5000))
def test_deeply_nested_or_broken_lines_give_decode_error(
    fmt: Format, prefix: bytes, depth: int
) -> None:
    raw = b'{"data":' + b"[" * depth + prefix
    with contextlib.suppress(DecodeError):
        assert isinstance(decode(raw, fmt), list)


def test_a_broken_line_is_reported_as_malformed_rather_than_of_unknown_format() -> None:
    with pytest.raises(DecodeError, match="malformed JSON"):
        decode(b'{"text":"#cart"', Format.AUTO)
    with pytest.raises(DecodeError, match="unknown format"):
        decode(b'{"text":"#cart"}', Format.AUTO)
