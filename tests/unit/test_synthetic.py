"""The synthetic streams: real wire shapes, the demo's scripted cases, the bench's rates.

The checks read the generated JSON directly (a small inspector below), not through the
project's decoders, so a decoder bug cannot hide a generator bug; the last test then
feeds every line to the real decoders. Shapes were copied from the recorded payloads in
../shared/fixtures (x-v1.1: xdevplatform/tweet_parser, MIT; mastodon: halcy/Mastodon.py
cassettes, MIT; bluesky-jetstream: bluesky-social/jetstream, MIT/Apache-2.0).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from hashcart.synthetic import (
    SCENARIOS,
    BenchShape,
    DemoStream,
    bench_accounts,
    bench_stream,
    bench_trigger_count,
    demo_brand,
    demo_catalog,
    demo_shoppers,
    demo_stream,
)
from hashcart.synthetic.bench import POOL_SIZE

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SHAPES: tuple[BenchShape, ...] = ("x", "mastodon", "jetstream")
TARGET_BYTES = {"x": 3000, "mastodon": 2500, "jetstream": 700}
BRAND = demo_brand()
CATALOG_LINKS = {p.link: p for p in demo_catalog()}


# --- a small, independent reader of the three wire formats ------------------------------


@dataclass(frozen=True)
class View:
    """What a line says, read straight from its JSON."""

    shape: str  # x-v1.1, x-v2, mastodon-status, mastodon-stream, jetstream-<collection|kind>
    network: str  # x | mastodon | bluesky
    author: str
    at: datetime
    post_id: str | None = None
    text: str = ""
    tags: tuple[str, ...] = ()  # as the payload's tag metadata writes them
    links: tuple[str, ...] = ()
    reply_to: str | None = None
    quote_of: str | None = None
    repost_of: str | None = None


_HREF = re.compile(r'<a href="([^"]+)"(?![^>]*class="(?:u-url )?mention)')


def _x_v1(obj: dict[str, Any]) -> View:
    ext = obj.get("extended_tweet") or {}
    entities = ext.get("entities") or obj["entities"]
    rt = obj.get("retweeted_status")
    return View(
        shape="x-v1.1",
        network="x",
        author=obj["user"]["id_str"],
        at=datetime.fromtimestamp(int(obj["timestamp_ms"]) / 1e3, UTC),
        post_id=obj["id_str"],
        text=ext.get("full_text", obj["text"]),
        tags=tuple(h["text"] for h in entities["hashtags"]),
        links=tuple(u["expanded_url"] for u in entities["urls"]),
        reply_to=obj["in_reply_to_status_id_str"],
        quote_of=obj.get("quoted_status_id_str"),
        repost_of=rt["id_str"] if rt else None,
    )


def _x_v2(obj: dict[str, Any]) -> View:
    data = obj["data"]
    refs = {r["type"]: r["id"] for r in data.get("referenced_tweets", [])}
    entities = data.get("entities", {})
    return View(
        shape="x-v2",
        network="x",
        author=data["author_id"],
        at=datetime.fromisoformat(data["created_at"]),
        post_id=data["id"],
        text=data["text"],
        tags=tuple(h["tag"] for h in entities.get("hashtags", [])),
        links=tuple(u["expanded_url"] for u in entities.get("urls", [])),
        reply_to=refs.get("replied_to"),
        quote_of=refs.get("quoted"),
        repost_of=refs.get("retweeted"),
    )


def _mastodon(status: dict[str, Any], shape: str) -> View:
    links = [u for u in _HREF.findall(status["content"]) if "/tags/" not in u]
    if status["card"]:
        links.append(status["card"]["url"])
    reblog = status["reblog"]
    return View(
        shape=shape,
        network="mastodon",
        author=status["account"]["uri"],
        at=datetime.fromisoformat(status["created_at"]),
        post_id=status["id"],
        text=status["content"],
        tags=tuple(t["name"] for t in status["tags"]),
        links=tuple(dict.fromkeys(links)),
        reply_to=status["in_reply_to_id"],
        repost_of=reblog["id"] if reblog else None,
    )


def _jetstream(obj: dict[str, Any]) -> View:
    at = datetime.fromtimestamp(obj["time_us"] / 1e6, UTC)
    if obj["kind"] != "commit":
        return View(shape=f"jetstream-{obj['kind']}", network="bluesky", author=obj["did"], at=at)
    commit = obj["commit"]
    record = commit["record"]
    collection = commit["collection"]
    if collection != "app.bsky.feed.post":
        repost = record["subject"]["uri"] if collection == "app.bsky.feed.repost" else None
        return View(
            shape=f"jetstream-{collection}",
            network="bluesky",
            author=obj["did"],
            at=at,
            repost_of=repost,
        )
    features = [f for facet in record.get("facets", []) for f in facet["features"]]
    embed = record.get("embed", {})
    links = [f["uri"] for f in features if f["$type"].endswith("#link")]
    if embed.get("$type") == "app.bsky.embed.external":
        links.append(embed["external"]["uri"])
    reply = record.get("reply")
    return View(
        shape="jetstream-post",
        network="bluesky",
        author=obj["did"],
        at=at,
        post_id=f"at://{obj['did']}/{collection}/{commit['rkey']}",
        text=record["text"],
        tags=tuple(f["tag"] for f in features if f["$type"].endswith("#tag")),
        links=tuple(dict.fromkeys(links)),
        reply_to=reply["parent"]["uri"] if reply else None,
        quote_of=embed["record"]["uri"] if embed.get("$type") == "app.bsky.embed.record" else None,
    )


def view(line: bytes) -> View:
    obj = json.loads(line)
    if "did" in obj:
        return _jetstream(obj)
    if "data" in obj:
        return _x_v2(obj)
    if "id_str" in obj:
        return _x_v1(obj)
    if "stream" in obj:
        assert isinstance(obj["payload"], str)
        return _mastodon(json.loads(obj["payload"]), "mastodon-stream")
    return _mastodon(obj, "mastodon-status")


@cache
def demo() -> DemoStream:
    return demo_stream(seed=7, now=NOW)


@cache
def demo_views() -> tuple[View, ...]:
    return tuple(view(line) for line in demo().lines)


@cache
def bench_lines(shape: BenchShape, n: int, rate: float = 0.005) -> tuple[bytes, ...]:
    return tuple(bench_stream(shape, n, trigger_rate=rate))


def brand_ids() -> set[str]:
    return {account_id for account_id, _ in BRAND.values()}


def shopper_ids(email: str | None = None) -> set[str]:
    return {
        account_id
        for s in demo_shoppers()
        if email is None or s.email == email
        for account_id, _ in s.accounts.values()
    }


def is_cart(v: View) -> bool:
    return any(t.lower() == "cart" for t in v.tags)


def product_posts(views: tuple[View, ...]) -> dict[str, View]:
    """Brand posts carrying catalog links, by post id."""
    return {
        v.post_id: v
        for v in views
        if v.post_id and v.author in brand_ids() and any(u in CATALOG_LINKS for u in v.links)
    }


def triggers(views: tuple[View, ...]) -> list[View]:
    """Shoppers' #cart/#wishlist replies to brand product posts."""
    posts = product_posts(views)
    return [
        v
        for v in views
        if v.reply_to in posts and any(t.lower() in ("cart", "wishlist") for t in v.tags)
    ]


# --- catalogue and shoppers ---------------------------------------------------------------


def test_catalog_has_a_dozen_products_with_shop_links_and_each_availability() -> None:
    catalog = demo_catalog("shop.example")
    assert 10 <= len(catalog) <= 15
    assert len({p.product_id for p in catalog}) == len(catalog)
    assert all(
        re.fullmatch(r"https://shop\.example/products/[a-z0-9-]+(\?variant=\d+)?", p.link)
        for p in catalog
    )
    assert any("?variant=" in p.link for p in catalog)
    assert all(re.fullmatch(r"\d+\.\d\d USD", p.price) for p in catalog)
    counts = Counter(p.availability for p in catalog)
    assert counts["out_of_stock"] == counts["discontinued"] == counts["preorder"] == 1
    assert demo_catalog("other.example")[0].link.startswith("https://other.example/products/")


def test_shoppers_carry_stable_ids_not_handles() -> None:
    shoppers = demo_shoppers()
    assert 4 <= len(shoppers) <= 6
    for shopper in shoppers:
        for network, (account_id, _handle) in shopper.accounts.items():
            pattern = {
                "x": r"\d{6,20}",
                "mastodon": r"https://[a-z.]+/users/\w+",
                "bluesky": r"did:plc:[a-z2-7]{24}",
            }[network]
            assert re.fullmatch(pattern, account_id), (network, account_id)
    assert demo().late_shopper in shoppers


# --- the demo stream ------------------------------------------------------------------------


def test_every_demo_line_is_one_valid_json_object() -> None:
    for line in demo().lines:
        assert b"\n" not in line
        assert isinstance(json.loads(line), dict)


def test_demo_has_a_few_hundred_lines_in_two_halves() -> None:
    stream = demo()
    assert 300 <= len(stream.lines) <= 600
    assert stream.first_half and stream.second_half


def test_demo_mixes_every_network_and_shape() -> None:
    shapes = Counter(v.shape for v in demo_views())
    for shape in (
        "x-v1.1",
        "x-v2",
        "mastodon-status",
        "mastodon-stream",
        "jetstream-post",
        "jetstream-app.bsky.feed.like",
        "jetstream-app.bsky.graph.follow",
        "jetstream-app.bsky.feed.repost",
    ):
        assert shapes[shape] >= 1, shape
    assert shapes["jetstream-app.bsky.feed.like"] >= 10


def test_demo_times_are_within_the_last_day_and_roughly_ordered() -> None:
    times = [v.at for v in demo_views()]
    assert all(NOW - timedelta(days=1) <= t <= NOW for t in times)
    latest = times[0]
    for t in times:
        assert latest - t <= timedelta(hours=1)  # only the late-delivered parent lags
        latest = max(latest, t)


def test_demo_is_deterministic_for_a_seed_and_time() -> None:
    again = demo_stream(seed=7, now=NOW)
    assert again.lines == demo().lines
    assert demo_stream(seed=8, now=NOW).lines != demo().lines


def test_demo_scenario_index_points_at_lines_carrying_those_posts() -> None:
    stream, views = demo(), demo_views()
    assert set(stream.scenarios) == set(SCENARIOS)
    for name, scenario in stream.scenarios.items():
        assert scenario.lines, name
        ids = {views[i].post_id for i in scenario.lines}
        assert set(scenario.post_ids) <= ids, name


def test_demo_brand_posts_product_links_on_every_network() -> None:
    networks = {v.network for v in product_posts(demo_views()).values()}
    assert networks == {"x", "mastodon", "bluesky"}


def test_demo_has_a_two_product_post_and_a_cart_2_reply_picking_the_second() -> None:
    posts = product_posts(demo_views())
    two = {pid for pid, v in posts.items() if len([u for u in v.links if u in CATALOG_LINKS]) == 2}
    assert two
    assert any(v.reply_to in two and "#cart 2" in v.text and is_cart(v) for v in demo_views())


def test_demo_triggers_come_in_every_spelling() -> None:
    found = triggers(demo_views())
    texts = " ".join(v.text for v in found)
    assert "#cart" in texts
    assert re.search(r"#(Cart|CART)\b", texts) or "#<span>Cart</span>" in texts
    assert "＃cart" in texts
    assert "#cart x2" in texts or "#<span>cart</span></a> x2" in texts
    assert any("wishlist" in v.tags for v in found)
    fullwidth = [v for v in found if "＃cart" in v.text]
    assert {v.network for v in fullwidth} >= {"x", "bluesky"}
    assert all(is_cart(v) for v in fullwidth)  # the metadata still says "cart"


def test_demo_fullwidth_hash_is_written_as_x_writes_it() -> None:
    x_lines = [line for line in demo().lines if b'"id_str":' in line]
    assert any(b"\\uff03cart" in line for line in x_lines)


def test_demo_has_a_quote_post_with_cart() -> None:
    posts = product_posts(demo_views())
    quotes = [v for v in demo_views() if v.quote_of in posts and is_cart(v) and not v.reply_to]
    assert {v.network for v in quotes} >= {"x", "bluesky"}


def test_demo_has_a_reply_delivered_before_its_parent() -> None:
    views = demo_views()
    first_seen: dict[str, int] = {}
    for i, v in enumerate(views):
        if v.post_id and v.shape != "x-v2":
            first_seen.setdefault(v.post_id, i)
    early = [
        i
        for i, v in enumerate(views)
        if is_cart(v) and v.reply_to and first_seen.get(v.reply_to, -1) > i
    ]
    assert early
    assert views[first_seen[views[early[0]].reply_to or ""]].author in brand_ids()


def test_demo_delivers_a_trigger_twice() -> None:
    views = demo_views()
    counts = Counter(v.post_id for v in triggers(views))
    twice = [pid for pid, n in counts.items() if n >= 2]
    assert twice
    lines = demo().lines
    jet = [line for line in lines if b'"kind":"commit"' in line]
    assert any(n >= 2 for n in Counter(jet).values())  # byte-identical Jetstream replay


def test_demo_reposts_a_trigger_without_being_one() -> None:
    views = demo_views()
    trigger_ids = {v.post_id for v in triggers(views)}
    reposts = [v for v in views if v.repost_of in trigger_ids]
    assert {v.network for v in reposts} >= {"x", "mastodon"}
    for v in reposts:
        assert v.reply_to is None
    x_rt = next(v for v in reposts if v.network == "x")
    assert is_cart(x_rt)  # the hashtag bytes are there, the reply is not


def test_demo_has_near_miss_tags_on_replies_to_shop_posts() -> None:
    posts = product_posts(demo_views())
    tags = {t.lower() for v in demo_views() if v.reply_to in posts for t in v.tags}
    assert {"cartoon", "carts"} <= tags
    assert any("McCartney" in v.text for v in demo_views())


def test_demo_has_cart_replies_to_posts_without_products() -> None:
    views = demo_views()
    by_id = {v.post_id: v for v in views if v.post_id}
    bare = [
        v
        for v in views
        if is_cart(v)
        and v.reply_to in by_id
        and not any(u in CATALOG_LINKS for u in by_id[v.reply_to].links)
    ]
    assert len(bare) >= 3
    assert any(by_id[v.reply_to or ""].author in brand_ids() for v in bare)
    assert any(by_id[v.reply_to or ""].author not in brand_ids() for v in bare)


@pytest.mark.parametrize("availability", ["out_of_stock", "preorder", "discontinued"])
def test_demo_has_a_trigger_for_each_unavailable_product(availability: str) -> None:
    posts = product_posts(demo_views())
    assert any(
        is_cart(v)
        and any(
            CATALOG_LINKS[u].availability == availability
            for u in posts[v.reply_to or ""].links
            if u in CATALOG_LINKS
        )
        for v in triggers(demo_views())
    )


def test_demo_has_a_second_trigger_from_a_shopper_for_the_same_product() -> None:
    posts = product_posts(demo_views())
    seen = Counter(
        (v.author, posts[v.reply_to or ""].links)
        for v in {v.post_id: v for v in triggers(demo_views()) if is_cart(v)}.values()
    )
    assert max(seen.values()) >= 2


def test_late_shopper_triggers_before_and_after_linking() -> None:
    stream = demo()
    late = {account_id for account_id, _ in stream.late_shopper.accounts.values()}
    split = len(stream.first_half)
    views = demo_views()
    mine = [i for i, v in enumerate(views) if v in triggers(views) and v.author in late]
    assert any(i < split for i in mine)
    assert any(i >= split for i in mine)
    assert all(v.at < stream.link_at for v in views[:split])


def test_demo_has_triggers_from_accounts_that_never_link() -> None:
    known = shopper_ids() | brand_ids()
    assert any(is_cart(v) and v.author not in known for v in triggers(demo_views()))


def test_demo_x_v2_trigger_carries_its_parent_in_includes() -> None:
    for line in demo().lines:
        obj = json.loads(line)
        if "data" in obj and "referenced_tweets" in obj["data"]:
            parents = {t["id"] for t in obj["includes"].get("tweets", [])}
            if obj["data"]["referenced_tweets"][0]["id"] in parents:
                return
    pytest.fail("no v2 reply with its parent in includes.tweets")


def test_demo_has_an_x_reply_whose_cart_is_only_in_extended_tweet() -> None:
    for line in demo().lines:
        obj = json.loads(line)
        if obj.get("truncated") and obj.get("in_reply_to_status_id_str"):
            top = {h["text"] for h in obj["entities"]["hashtags"]}
            full = {h["text"] for h in obj["extended_tweet"]["entities"]["hashtags"]}
            if "cart" in full and "cart" not in top:
                return
    pytest.fail("no truncated reply with #cart only in extended_tweet")


# --- wire details ------------------------------------------------------------------------


def all_sample_lines() -> list[bytes]:
    return [*demo().lines, *(line for s in SHAPES for line in bench_lines(s, 3000))]


def test_x_v1_lines_are_ascii_with_escaped_slashes() -> None:
    for line in all_sample_lines():
        if b'"id_str":' in line:
            assert line.isascii()
            assert b"/" not in line.replace(b"\\/", b"")


def test_jetstream_lines_escape_markup_characters_like_go() -> None:
    jet = [line for line in all_sample_lines() if line.startswith(b'{"did":')]
    assert all(b"<" not in line and b">" not in line and b"&" not in line for line in jet)
    assert any(b"\\u0026" in line for line in jet)


def test_x_entity_indices_point_into_the_text() -> None:
    for line in all_sample_lines():
        if b'"id_str":' not in line:
            continue
        obj = json.loads(line)
        for tweet in (obj, obj.get("retweeted_status"), obj.get("quoted_status")):
            if not tweet:
                continue
            for text, entities in (
                (tweet["text"], tweet["entities"]),
                (
                    tweet.get("extended_tweet", {}).get("full_text"),
                    tweet.get("extended_tweet", {}).get("entities"),
                ),
            ):
                if text is None:
                    continue
                for tag in entities["hashtags"]:
                    start, end = tag["indices"]
                    assert text[start:end] in ("#" + tag["text"], "＃" + tag["text"])
                for url in entities["urls"]:
                    start, end = url["indices"]
                    assert text[start:end] == url["url"]


def test_bluesky_facets_are_utf8_byte_ranges() -> None:
    for line in all_sample_lines():
        if b'"app.bsky.feed.post"' not in line or not line.startswith(b'{"did":'):
            continue
        record = json.loads(line)["commit"]["record"]
        raw = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            piece = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            if feature["$type"].endswith("#tag"):
                assert piece in ("#" + feature["tag"], "＃" + feature["tag"])
            elif feature["$type"].endswith("#link"):
                shown = feature["uri"].split("://", 1)[1]
                assert piece == shown or (piece.endswith("...") and shown.startswith(piece[:-3]))


def test_mastodon_hashtags_are_links_and_tags_lowercase() -> None:
    for v in demo_views():
        if v.network == "mastodon" and v.tags:
            assert all(t == t.lower() for t in v.tags)
            assert 'class="mention hashtag" rel="tag">#<span>' in v.text


# --- the bench streams ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_every_bench_line_is_one_valid_json_object(shape: BenchShape) -> None:
    for line in bench_lines(shape, 3000):
        assert b"\n" not in line
        assert isinstance(json.loads(line), dict)


@pytest.mark.parametrize("shape", SHAPES)
def test_bench_line_sizes_are_within_a_quarter_of_the_real_average(shape: BenchShape) -> None:
    mean = statistics.mean(len(line) for line in bench_lines(shape, 20_000))
    target = TARGET_BYTES[shape]
    assert 0.75 * target <= mean <= 1.25 * target, mean


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rate", [0.005, 0.03])
def test_bench_trigger_rate_is_exactly_as_asked(shape: BenchShape, rate: float) -> None:
    n = 20_000
    views = tuple(view(line) for line in bench_lines(shape, n, rate))
    found = [v for v in triggers(views) if is_cart(v)]
    assert len(found) == bench_trigger_count(n, rate) == round(n * rate)
    pool = {account_id for account_id, _ in bench_accounts(shape)}
    assert all(v.author in pool for v in found)
    assert 0.008 <= len(product_posts(views)) / n <= 0.012


@pytest.mark.parametrize("shape", SHAPES)
def test_bench_noise_fools_a_naive_needle(shape: BenchShape) -> None:
    lines = bench_lines(shape, 20_000)
    naive = sum(1 for line in lines if b"cart" in line.lower())
    assert naive > 3 * bench_trigger_count(20_000)
    joined = b"\n".join(lines)
    for near_miss in (b"carts", b"cartoon", b"McCartney"):
        assert near_miss in joined


# Each network's everyday mix, as shares of all lines: reposts, replies.
NOISE_MIX = {"x": (0.27, 0.12), "mastodon": (0.18, 0.15), "jetstream": (0.05, 0.25)}


@pytest.mark.parametrize("shape", SHAPES)
def test_bench_noise_reposts_and_replies_to_earlier_posts(shape: BenchShape) -> None:
    views = tuple(view(line) for line in bench_lines(shape, 20_000))
    reposts, replies = NOISE_MIX[shape]
    assert abs(sum(1 for v in views if v.repost_of) / len(views) - reposts) < 0.015
    replied = [v for v in views if v.reply_to]
    assert abs(len(replied) / len(views) - replies) < 0.015
    seen: set[str] = set()
    to_earlier = 0
    for v in views:
        to_earlier += v.reply_to in seen
        if v.post_id:
            seen.add(v.post_id)
    assert to_earlier >= 0.99 * len(replied)


@pytest.mark.parametrize("shape", SHAPES)
def test_bench_is_deterministic_for_a_seed(shape: BenchShape) -> None:
    assert list(bench_stream(shape, 2000, seed=3)) == list(bench_stream(shape, 2000, seed=3))
    assert list(bench_stream(shape, 2000, seed=3)) != list(bench_stream(shape, 2000, seed=4))


@pytest.mark.parametrize("shape", SHAPES)
def test_bench_accounts_are_a_pool_of_distinct_stable_ids(shape: BenchShape) -> None:
    accounts = bench_accounts(shape)
    assert len(accounts) == POOL_SIZE
    assert len({account_id for account_id, _ in accounts}) == POOL_SIZE
    assert bench_accounts(shape, seed=2) != accounts


def test_bench_rejects_impossible_arguments() -> None:
    with pytest.raises(ValueError):
        bench_stream("x", 100, trigger_rate=0.95)
    with pytest.raises(ValueError):
        bench_stream("tiktok", 100)  # type: ignore[arg-type]
    assert list(bench_stream("x", 0)) == []


# --- the real decoders accept every line -----------------------------------------------------


@pytest.mark.parametrize("source", ["demo", *SHAPES])
def test_every_generated_line_decodes_with_the_real_decoders(source: str) -> None:
    formats = pytest.importorskip(
        "hashcart.networks.formats", reason="the network decoders are not in this tree yet"
    )
    lines = demo().lines if source == "demo" else bench_lines(source, 3000)
    for line in lines:
        events = formats.decode(line, formats.Format.AUTO)
        assert events, line[:200]
