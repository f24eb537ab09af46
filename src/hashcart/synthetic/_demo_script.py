"""The demo's script: the brand's posts on every network and the replies to them, placed on
the day's timeline so that every case the engine must get right appears at least once
(see `demo.SCENARIOS`; each emit names the scenarios it shows)."""

from __future__ import annotations

from typing import Any

from hashcart.synthetic import _people, _text, bluesky, mastodon, x
from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic.catalog import BRAND, LATE_SHOPPER_EMAIL, shopper_persona


def play_script(b: Builder) -> None:
    """Emit the scripted posts (everything but the everyday noise)."""
    rng = b.rng
    p = b.products
    maya = shopper_persona("maya.okafor@example.com")
    jonas = shopper_persona("jonas.berg@example.net")
    priya = shopper_persona("priya.raman@example.org")
    lucia = shopper_persona("lucia.fernandez@example.com")
    sam = shopper_persona(LATE_SHOPPER_EMAIL)
    fan_x = _people.random_persona(rng, x=True)
    fan_m = _people.random_persona(rng, mastodon=True)
    fan_b = _people.random_persona(rng, bluesky=True)
    stranger = _people.random_persona(rng, x=True, bluesky=True)

    def trig(tag: str = "#cart") -> RichText:
        return parse(rng.choice(_text.TRIGGERS).format(tag=tag))

    one = _text.BRAND_ONE
    # --- brand posts, first half ---------------------------------------------------------
    b_disc = b.b_post(
        BRAND,
        0.01,
        b.text(
            "Last few bags of {title} before it's gone for the year 🎄 {link}",
            product=p["winter-solstice-2023"],
        ),
        "brand_post",
        embed=b.b_product_embed(p["winter-solstice-2023"]),
    )
    x_house_obj, x_house = b.x_post(
        BRAND,
        0.05,
        b.text(one[0], product=p["house-blend-12oz"]),
        "brand_post",
        source=x.BRAND_SOURCE,
    )
    _, m_espresso = b.m_post(
        BRAND,
        0.08,
        b.text(one[1], product=p["summit-espresso-2lb"]),
        "brand_post",
        "brand_call_to_action",
        streaming=True,
        card_for=p["summit-espresso-2lb"],
    )
    b_guji = b.b_post(
        BRAND,
        0.10,
        b.text(one[2], product=p["ethiopia-guji-12oz"]),
        "brand_post",
        embed=b.b_product_embed(p["ethiopia-guji-12oz"]),
    )
    _, x_campkit = b.x_post(
        BRAND,
        0.15,
        b.text(_text.BRAND_TWO[0], product1=p["enamel-mug-pine"], product2=p["titanium-pour-over"]),
        "brand_post",
        "two_product_post",
        "brand_call_to_action",
        source=x.BRAND_SOURCE,
    )
    _, x_flask = b.x_post(
        BRAND,
        0.20,
        b.text(_text.BRAND_SOLD_OUT[0], product=p["trail-flask-granite"]),  # out of stock
        "brand_post",
        source=x.BRAND_SOURCE,
    )
    _, x_market = b.x_post(
        BRAND,
        0.25,
        parse(_text.BRAND_PLAIN[0]),
        "no_product_post",
        source=x.BRAND_SOURCE,
        place=True,
    )
    grinder_data, x_grinder = b.x_v2_post(
        BRAND,
        0.28,
        b.text(one[5], product=p["ridge-hand-grinder"]),
        "brand_post",
        rule_tag="from:trailhead_coffee",
    )
    b_plain = b.b_post(BRAND, 0.31, parse(_text.BRAND_PLAIN[2]), "no_product_post")
    _, m_two = b.m_post(
        BRAND,
        0.35,
        b.text(_text.BRAND_TWO[2], product1=p["cold-brew-packs-8"], product2=p["canvas-tote"]),
        "brand_post",
        "two_product_post",
        streaming=True,
        card_for=p["cold-brew-packs-8"],
    )
    # Delivered late (a backfill): its reply at 0.37 arrives first.
    _, x_decaf = b.x_post(
        BRAND,
        0.36,
        b.text(one[3], product=p["ridgeline-decaf-12oz"]),
        "brand_post",
        "reply_before_parent",
        "brand_call_to_action",
        source=x.BRAND_SOURCE,
        delay=(b.end - b.start) * 0.03,
    )
    _, m_preorder = b.m_post(
        BRAND,
        0.45,
        b.text(_text.BRAND_PREORDER[0], product=p["panama-geisha-8oz"]),  # a pre-order
        "brand_post",
        card_for=p["panama-geisha-8oz"],
    )
    _, m_market = b.m_post(
        BRAND, 0.26, parse(_text.BRAND_PLAIN[1]), "no_product_post", streaming=True
    )

    # --- triggers, first half --------------------------------------------------------------
    maya_cart, _ = b.x_post(maya, 0.06, parse("#cart"), "cart_basic", reply_to=x_house)
    b.x_post(
        maya,
        0.065,
        parse("the mug in your photo looks straight out of a #cartoon 😄"),
        "decoy_tags",
        reply_to=x_house,
    )
    b.x_post(jonas, 0.07, parse("＃cart — my grinder is ready"), "fullwidth_hash", reply_to=x_house)
    b.x_retweet(fan_x, 0.085, maya_cart, "repost_of_trigger")
    lucia_cart, lucia_ref = b.m_post(
        lucia,
        0.09,
        parse("#Cart, this is my morning sorted"),
        "case_variant",
        "duplicate_delivery",
        reply_to=m_espresso,
        streaming=True,
    )
    # The same status again, fetched over REST by a backfill: a duplicate delivery.
    lucia_plain = dict(lucia_cart)
    b.emit(
        b.at(0.1),
        mastodon.status_line(_rest_view(lucia_plain)),
        ("duplicate_delivery",),
        str(lucia_ref.local_id),
    )
    b.m_post(fan_m, 0.095, (), "repost_of_trigger", reblog=_rest_view(lucia_cart))
    b.b_post(priya, 0.11, parse("#wishlist for payday 🤞"), "wishlist", reply_to=b_guji.ref)
    b.m_post(
        maya,
        0.13,
        parse("#cart x2 — one for me, one for my sister"),
        "quantity",
        reply_to=m_espresso,
    )
    b.m_post(
        priya,
        0.14,
        parse("Do you ship to the UK? I'd fill whole #carts with this 😅"),
        "decoy_tags",
        reply_to=m_espresso,
    )
    b.b_post(
        jonas,
        0.15,
        parse("Those bag illustrations are very #cartography, love it"),
        "decoy_tags",
        reply_to=b_guji.ref,
    )
    b.x_post(
        jonas,
        0.16,
        parse("#cart 2 — the pour-over, I already own too many mugs"),
        "pick_second_product",
        reply_to=x_campkit,
    )
    b.x_post(
        lucia,
        0.17,
        parse("Best beans in Oregon, no contest #cart"),
        "quote_post",
        quote=_embedded(x_house_obj),
    )
    assert b_guji.ref is not None
    b.b_post(
        jonas,
        0.18,
        parse("#cart — trying this one next"),
        "quote_post",
        embed=bluesky.record_embed(b_guji.ref),
    )
    jonas_b = b.b_post(jonas, 0.19, trig(), "duplicate_delivery", reply_to=b_guji.ref)
    assert jonas_b.ref is not None
    # Jetstream reconnects with a cursor a little in the past: the same event again.
    b.emit(b.at(0.21), jonas_b.line, ("duplicate_delivery",), jonas_b.ref.uri)
    b.b_subject(fan_b, 0.2, "app.bsky.feed.repost", jonas_b.ref, "repost_of_trigger")
    b.x_post(lucia, 0.22, trig(), "out_of_stock", reply_to=x_flask)
    b.x_post(jonas, 0.27, trig(), "no_product_parent", reply_to=x_market)
    b.m_post(maya, 0.275, trig(), "no_product_parent", reply_to=m_market, streaming=True)
    b.x_post(
        sam,
        0.30,
        parse("#cart, need this for night shifts"),
        "late_shopper_before_link",
        reply_to=x_house,
    )
    noise_m_author = _people.random_persona(rng, mastodon=True)
    _, noise_m = b.m_post(
        noise_m_author,
        0.295,
        parse("Morning light over the lake, no filter needed"),
        "noise",
        image="A calm lake at sunrise with mist over the water",
    )
    b.m_post(priya, 0.30, parse("#cart"), "no_product_parent", reply_to=noise_m)
    b.x_v2_post(
        lucia,
        0.32,
        parse("#cart — finally upgrading from my blade grinder"),
        "cart_basic",
        reply_to=x_grinder,
        parent=grinder_data,
    )
    b.b_post(maya, 0.33, trig(), "no_product_parent", reply_to=b_plain.ref)
    b.x_post(
        maya,
        0.37,
        parse("decaf that actually tastes like coffee? #cart"),
        "reply_before_parent",
        reply_to=x_decaf,
    )
    b.x_post(
        maya,
        0.40,
        parse("ok I'm hooked, another bag please #cart"),
        "repeat_same_product",
        reply_to=x_house,
    )
    b.m_post(sam, 0.44, parse("#wishlist"), "late_shopper_before_link", reply_to=m_espresso)
    b.m_post(
        priya,
        0.47,
        parse("Pre-ordering before they sell out! #cart"),
        "preorder",
        reply_to=m_preorder,
        streaming=True,
    )
    b.b_post(priya, 0.50, trig(), "discontinued", reply_to=b_disc.ref)
    b.x_post(stranger, 0.51, trig(), "unlinked_stranger", reply_to=x_house)

    # --- second half (after the late shopper links at LINK_AT) ---------------------------------
    b_sunrise = b.b_post(
        BRAND,
        0.62,
        b.text(one[4], product=p["enamel-mug-sunrise"]),
        "brand_post",
        embed=b.b_product_embed(p["enamel-mug-sunrise"]),
    )
    long_reply = (
        "Been using a hand-me-down grinder for ten years and the burrs are finally "
        "done. Read every review I could find and this one keeps coming up, so yes: "
        "#cart"
    )
    b.x_post(jonas, 0.58, parse(long_reply), "extended_tweet", reply_to=x_grinder)
    b.x_post(sam, 0.60, parse("#CART"), "late_shopper_after_link", "case_variant", reply_to=x_house)
    b.b_post(maya, 0.64, trig(), "cart_basic", reply_to=b_sunrise.ref)
    b.b_post(
        sam,
        0.66,
        parse("#cart for the trailhead thermos collection"),
        "late_shopper_after_link",
        reply_to=b_sunrise.ref,
    )
    b.m_post(
        lucia,
        0.70,
        parse("#wishlist 1 (the cold brew packs, for summer)"),
        "wishlist",
        reply_to=m_two,
        streaming=True,
    )
    b.b_post(stranger, 0.72, trig(), "unlinked_stranger", reply_to=b_sunrise.ref)
    b.b_post(jonas, 0.75, parse("＃cart"), "fullwidth_hash", reply_to=b_sunrise.ref)
    b.m_post(maya, 0.80, parse("#cart 1 please, the cold brew"), "cart_basic", reply_to=m_two)

    # --- ordinary replies to brand posts (no trigger) ------------------------------------------
    chatter = (
        "Looks great!",
        "What's the roast date on these?",
        "Do you ship to Canada?",
        "Mine arrived yesterday, smells amazing ☕",
        "Is this the same as last year's?",
    )
    for frac, who, target in (
        (0.12, fan_x, x_house),
        (0.23, _people.random_persona(rng, x=True), x_flask),
        (0.68, fan_x, x_campkit),
    ):
        b.x_post(who, frac, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=target)
    b.m_post(fan_m, 0.36, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=m_two)
    b.b_post(
        fan_b, 0.63, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=b_sunrise.ref
    )

    # --- brand engagement on Jetstream ------------------------------------------------------------
    brand_refs = [r for r in (b_disc.ref, b_guji.ref, b_plain.ref, b_sunrise.ref) if r]
    for _ in range(14):
        ref = rng.choice(brand_refs)
        fan = _people.random_persona(rng, bluesky=True)
        assert fan.bluesky is not None
        b.b_subject(fan.bluesky.did, rng.uniform(0.12, 0.99), "app.bsky.feed.like", ref)
    for _ in range(5):
        fan = _people.random_persona(rng, bluesky=True)
        assert fan.bluesky is not None and BRAND.bluesky is not None
        b.b_subject(
            fan.bluesky.did, rng.uniform(0.0, 1.0), "app.bsky.graph.follow", BRAND.bluesky.did
        )

    # --- order care: Maya ordered on the web between the halves (hashcart.demo) -----------------
    # Last, so the day's other posts stay as they were before the scenario was added.
    b.m_post(
        maya,
        0.85,
        parse("@trailhead_coffee #order did my beans ship yet?", {"trailhead_coffee": BRAND}),
        "order_status",
        streaming=True,
    )


def _embedded(tweet_obj: dict[str, Any]) -> dict[str, Any]:
    """A tweet as it appears nested in another (no stream-only fields)."""
    nested = dict(tweet_obj)
    nested.pop("timestamp_ms", None)
    nested.pop("filter_level", None)
    return nested


def _rest_view(streamed: dict[str, Any]) -> dict[str, Any]:
    """The same status as the REST API orders its fields (viewer fields before content)."""
    viewer = ("favourited", "reblogged", "muted", "bookmarked")
    out: dict[str, Any] = {}
    for key, value in streamed.items():
        if key in viewer or key == "filtered":
            continue
        if key == "content":
            out.update({k: streamed[k] for k in viewer})
        out[key] = value
        if key == "content":
            out["filtered"] = []
    return out
