"""A hostile corpus: what a stranger can put in a payload line, mixed with a shop's valid replies.

Each hostile line starts from a payload in the networks' real shapes (tests/payloads) and
breaks one thing the way the attacks on hashcart did: NUL characters raw and escaped, ids
longer than any column, impossible dates, invalid UTF-8, oversized and deeply nested lines,
wrong JSON types, hostile text (markup, zero-width characters, homoglyph links, unpaired
surrogates). The valid replies are `#cart` triggers from linked shoppers under the shop's
posts on X, Mastodon and Bluesky; every one of them must be acted on whatever sits beside it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hashcart.domain.posts import Network
from tests.harness import PRODUCTS, Shop
from tests.payloads import jetstream_post, mastodon_status, post_uri, x_tweet

MUG, BEANS = PRODUCTS["mug"][1], PRODUCTS["beans"][1]
X_SHOP_ID, X_PARENTS = "900", ("1700000000000000001", "1700000000000000002")
MASTODON_SHOP = "https://social.example/users/trailhead"
MASTODON_PARENTS = ("110000000000000001", "110000000000000002")
BLUESKY_SHOP = "did:plc:shopbrand000000000000000"
BLUESKY_PARENTS = ("3mshopmug0001", "3mshopbeans01")
SHOPPERS_PER_NETWORK = 10


def x_shopper(n: int) -> str:
    return str(5000 + n)


def mastodon_shopper(n: int) -> str:
    return f"https://social.example/users/shopper{n}"


def bluesky_shopper(n: int) -> str:
    return "did:plc:" + f"shopper{n:02d}".ljust(24, "a")


@dataclass
class Corpus:
    lines: list[bytes] = field(default_factory=list)
    # (network, post id) of every valid trigger: each must end with an action.
    valid_triggers: list[tuple[Network, str]] = field(default_factory=list)
    hostile: int = 0


def link_shoppers(shop: Shop) -> None:
    for n in range(SHOPPERS_PER_NETWORK):
        shop.customer(
            f"shopper{n}@example.com",
            (Network.X, x_shopper(n), f"xshopper{n}"),
            (Network.MASTODON, mastodon_shopper(n), f"shopper{n}"),
            (Network.BLUESKY, bluesky_shopper(n), f"shopper{n}.bsky.social"),
        )


def shop_posts() -> list[bytes]:
    posts = []
    for post_id, link in zip(X_PARENTS, (MUG, BEANS), strict=True):
        posts.append(x_tweet(post_id, X_SHOP_ID, "trailhead", f"New {link}", links=(link,)))
    for post_id, link in zip(MASTODON_PARENTS, (MUG, BEANS), strict=True):
        html = f'<p>New <a href="{link}">{link}</a></p>'
        posts.append(mastodon_status(post_id, MASTODON_SHOP, "trailhead", html))
    for rkey, link in zip(BLUESKY_PARENTS, (MUG, BEANS), strict=True):
        posts.append(jetstream_post(BLUESKY_SHOP, rkey, f"New {link}", links=(link,)))
    return posts


def _x_reply(n: int, serial: int, parent: str) -> tuple[bytes, str]:
    post_id = str(1800000000000000000 + serial)
    line = x_tweet(
        post_id,
        x_shopper(n),
        f"xshopper{n}",
        "#cart",
        reply_to=parent,
        hashtags=("cart",),
        minutes=1 + serial / 1000,
    )
    return line, post_id


def _mastodon_reply(n: int, serial: int, parent: str) -> tuple[bytes, str]:
    post_id = str(120000000000000000 + serial)
    tag = "https://social.example/tags/cart"
    html = f'<p><a href="{tag}" class="mention hashtag">#<span>cart</span></a></p>'
    line = mastodon_status(
        post_id,
        mastodon_shopper(n),
        f"shopper{n}",
        html,
        reply_to=parent,
        tags=("cart",),
        minutes=1 + serial / 1000,
    )
    return line, post_id


def _bluesky_reply(n: int, serial: int, parent: str) -> tuple[bytes, str]:
    rkey = f"3mreply{serial:06d}"
    line = jetstream_post(
        bluesky_shopper(n),
        rkey,
        "#cart",
        tags=("cart",),
        reply_to=post_uri(BLUESKY_SHOP, parent),
        minutes=1 + serial / 1000,
    )
    return line, post_uri(bluesky_shopper(n), rkey)


def valid_reply(network: Network, serial: int) -> tuple[bytes, str]:
    # Shoppers in turn; the first ten replies are under the mug's post, the next ten under
    # the beans', and so on.
    n, which = serial % SHOPPERS_PER_NETWORK, (serial // SHOPPERS_PER_NETWORK) % 2
    if network is Network.X:
        return _x_reply(n, serial, X_PARENTS[which])
    if network is Network.MASTODON:
        return _mastodon_reply(n, serial, MASTODON_PARENTS[which])
    return _bluesky_reply(n, serial, BLUESKY_PARENTS[which])


# Where each network keeps the fields a stranger controls, as paths into the payload.
_FIELDS: dict[Network, dict[str, tuple[str, ...]]] = {
    Network.X: {
        "post id": ("id_str",),
        "author id": ("user", "id_str"),
        "handle": ("user", "screen_name"),
        "text": ("text",),
        "parent id": ("in_reply_to_status_id_str",),
        "date": ("created_at",),
    },
    Network.MASTODON: {
        "post id": ("id",),
        "author id": ("account", "uri"),
        "handle": ("account", "acct"),
        "text": ("content",),
        "parent id": ("in_reply_to_id",),
        "date": ("created_at",),
    },
    Network.BLUESKY: {
        "post id": ("commit", "rkey"),
        "author id": ("did",),
        "text": ("commit", "record", "text"),
        "parent id": ("commit", "record", "reply", "parent", "uri"),
        "date": ("commit", "record", "createdAt"),
    },
}

_X_DATE = "%a %b %d %H:%M:%S +0000 %Y"
_IMPOSSIBLE_DATES: dict[Network, tuple[Any, ...]] = {
    Network.X: (
        "Sat Dec 25 00:00:00 +0000 9999",
        "Fri Dec 31 23:59:59 +0000 9999",
        "Mon Jan 01 00:00:00 +0000 0001",
        "Mon Feb 30 00:00:00 +0000 2026",
        "9999-12-25T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
        "-0001-01-01T00:00:00Z",
        12345,
        None,
    ),
    Network.MASTODON: (
        "9999-12-25T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00.000Z",
        "0000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "99999-01-01T00:00:00Z",
        12345,
        None,
    ),
    Network.BLUESKY: (
        "9999-12-25T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00.000Z",
        "0000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "99999-01-01T00:00:00Z",
        12345,
        None,
    ),
}


def set_field(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        payload = payload[key]
    payload[path[-1]] = value


def _get(payload: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        payload = payload[key]
    return payload


Mutation = Callable[[Network, dict[str, Any], random.Random], list[dict[str, Any] | bytes]]


def _field_values(network: Network, name: str, rng: random.Random) -> list[Any]:
    """What a stranger may put in one field: NULs, lengths past the columns, bad shapes."""
    current = "1" if network is not Network.BLUESKY else "3mreplyhostile"
    long_digits = "1" * rng.choice((20, 301, 400, 5000))
    values: list[Any] = [
        current + "\x00",
        "\x00",
        current + "\ud800",
        current * 400 if name != "text" else "A" * 400,
        long_digits,
        "x" * 512,
        "x" * 600,
        "",
        " ",
        "../../etc/passwd",
        {"nested": [current]},
        [current],
        12345678901234567890123,
        -1,
        True,
    ]
    if name == "author id" and network is Network.MASTODON:
        values.append("https://social.example/users/" + "a" * 400)
    if name == "author id" and network is Network.BLUESKY:
        values += ["did:web:" + "a" * 300 + ".example", "did:plc:UPPER/slash", "notadid"]
    if name == "post id" and network is Network.BLUESKY:
        values += ["a" * 400, "a" * 513, ".", "..", "with space", "k/slash"]
    if name == "parent id" and network is Network.BLUESKY:
        values += [
            "at://did:web:127.0.0.1%3A8209/app.bsky.feed.post/3mparent",
            "at://" + "did:plc:" + "a" * 400 + "/app.bsky.feed.post/x",
            "https://bsky.app/profile/x/post/y",
        ]
    if name == "text":
        values += [
            "#cart <script>alert(1)</script>",
            "#ca\u200brt",
            "#cart \u202e" + "x" * 10,
            "#cart https://shop.ex\u0430mple/products/enamel-mug",
            "#cart " + "\U0001f600" * 20_000,
            "#cart\u2028\u2029",
        ]
    return values


def _field_lines(network: Network, base: dict[str, Any], rng: random.Random) -> list[Any]:
    lines: list[Any] = []
    for name, path in _FIELDS[network].items():
        values = (
            list(_IMPOSSIBLE_DATES[network])
            if name == "date"
            else _field_values(network, name, rng)
        )
        for value in values:
            payload = json.loads(json.dumps(base))
            set_field(payload, path, value)
            lines.append(payload)
    return lines


def _broken_lines(network: Network, base: dict[str, Any], rng: random.Random) -> list[Any]:
    raw = json.dumps(base).encode()
    text_path = _FIELDS[network]["text"]
    marker = json.dumps(_get(base, text_path)).encode()
    depth = rng.choice((1_000, 100_000))
    return [
        raw.replace(marker, b'"#cart \x00 raw nul"', 1),  # a raw NUL inside a string
        raw.replace(marker, b'"#cart \xff\xfe invalid utf-8"', 1),
        raw.replace(marker, b'"#cart \xed\xa0\x80 encoded surrogate"', 1),
        raw[: len(raw) // 2],  # cut short
        raw + b"}",
        b"\x00" + raw,
        b"[" * depth + b"]" * depth,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        raw.replace(marker, b'"' + b"#cart " + b"A" * (1024 * 1024 + 10) + b'"', 1),  # > 1 MiB
        b"null",
        b"[]",
        b"{}",
        b'"just a string"',
        b"\xef\xbb\xbf" + raw,  # a byte order mark
    ]


def _template(network: Network) -> dict[str, Any]:
    line, _ = valid_reply(network, 999_999)
    payload: dict[str, Any] = json.loads(line)
    return payload


def build(hostile_target: int = 2000, valid_per_network: int = 40, seed: int = 9) -> Corpus:
    """At least `hostile_target` hostile lines, with `valid_per_network` valid `#cart`
    replies a network, shuffled together after the shop's posts (so poison and valid
    triggers share batches)."""
    rng = random.Random(seed)
    corpus = Corpus()
    hostile: list[bytes] = []
    serial = 0
    while len(hostile) < hostile_target:
        for network in Network:
            base = _template(network)
            # A different valid-looking id each round, so lines are not all the same.
            serial += 1
            if network is Network.X:
                base["id_str"] = str(1900000000000000000 + serial)
            elif network is Network.MASTODON:
                base["id"] = str(130000000000000000 + serial)
            else:
                base["commit"]["rkey"] = f"3mhostile{serial:06d}"
            for item in _field_lines(network, base, rng) + _broken_lines(network, base, rng):
                hostile.append(item if isinstance(item, bytes) else json.dumps(item).encode())
    valid: list[tuple[bytes, Network, str]] = []
    for network in Network:
        for n in range(valid_per_network):
            line, post_id = valid_reply(network, n)
            valid.append((line, network, post_id))
    mixed: list[tuple[bytes, tuple[Network, str] | None]] = [(line, None) for line in hostile]
    mixed += [(line, (network, post_id)) for line, network, post_id in valid]
    rng.shuffle(mixed)
    corpus.lines = shop_posts() + [line for line, _ in mixed]
    corpus.valid_triggers = [key for _, key in mixed if key is not None]
    corpus.hostile = len(hostile)
    return corpus
