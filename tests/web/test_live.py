"""The live view: per-minute triggers and cart adds (moved by a FixedClock), the SVG chart,
the JSON numbers, the page that refreshes them, and who may see it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import quote

import pytest

from hashcart.domain.posts import Network
from hashcart.web.charts import Series, line_chart, nice_step
from tests.payloads import BASE_TIME
from tests.web.conftest import Browser, WebShop
from tests.web.funnel_support import (
    ALICE_DID,
    BOB_DID,
    BRAND_POST,
    CAROL_DID,
    HOSTILE,
    MASTODON_SHOP_ID,
    X_SHOP_ID,
    add_web_cart_line,
    brand_post,
    mastodon_shop_post,
    reply,
    x_shop_post,
)

SVG = "{http://www.w3.org/2000/svg}"
BRAND = quote(f"bluesky/{BRAND_POST}", safe="")


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


@pytest.fixture
def shop(web_shop: WebShop) -> WebShop:
    """The clock stands at 13:00 (BASE_TIME + 1 h). Replies to the Bluesky post at 12:55,
    12:55:30 and 12:58 (alice and bob linked: two cart adds written at 13:00, carol pending);
    at 13:02 a reply made at 13:01:30 adds one more, and frank adds the mug on the web."""
    assert web_shop.clock.now() == BASE_TIME + timedelta(hours=1)
    for name, did in (("alice", ALICE_DID), ("bob", BOB_DID)):
        web_shop.browser().sign_up(f"{name}@example.com")
        web_shop.link(f"{name}@example.com", Network.BLUESKY, did, name)
    web_shop.browser().sign_up("frank@example.com")
    web_shop.browser().sign_up("erin@example.com")
    web_shop.ingest(
        [
            brand_post(),
            x_shop_post(minutes=1),
            reply(ALICE_DID, "3mmlive000001", "#cart 1", 55),
            reply(BOB_DID, "3mmlive000002", "#cart 2", 55.5),
            reply(CAROL_DID, "3mmlive000003", "#cart 1", 58),
        ]
    )
    web_shop.clock.advance(timedelta(minutes=2))
    web_shop.link("erin@example.com", Network.BLUESKY, "did:plc:erin0000000000000000000", "erin")
    web_shop.ingest([reply("did:plc:erin0000000000000000000", "3mmlive000004", "#cart 2", 61.5)])
    add_web_cart_line(web_shop, "frank@example.com", "mug", f"bluesky/{BRAND_POST}")
    return web_shop


def minutes_of(numbers: dict[str, object]) -> dict[str, tuple[int, int]]:
    buckets = numbers["buckets"]
    assert isinstance(buckets, list)
    return {b["minute"][11:16]: (b["triggers"], b["cart_adds"]) for b in buckets}


def test_triggers_count_when_posted_and_cart_adds_when_the_cart_changed(shop: WebShop) -> None:
    numbers = merchant(shop).get("/merchant/live.json?minutes=10").json()
    per_minute = minutes_of(numbers)
    assert list(per_minute) == [f"12:{m}" for m in range(53, 60)] + ["13:00", "13:01", "13:02"]
    assert per_minute["12:55"] == (2, 0)
    assert per_minute["12:58"] == (1, 0)
    assert per_minute["13:00"] == (0, 2)  # alice and bob, written when ingested
    assert per_minute["13:01"] == (1, 0)  # erin replied at 13:01:30
    assert per_minute["13:02"] == (0, 2)  # erin's line and frank's web add
    assert per_minute["12:53"] == per_minute["12:59"] == (0, 0)  # quiet minutes are zero
    assert (numbers["triggers"], numbers["cart_adds"]) == (4, 4)
    assert (numbers["triggers_last_minute"], numbers["cart_adds_last_minute"]) == (0, 2)
    assert numbers["start"] == "2026-11-20T12:53:00+00:00"
    assert numbers["end"] == "2026-11-20T13:03:00+00:00"


def test_the_window_moves_with_the_clock(shop: WebShop) -> None:
    browser = merchant(shop)
    shop.clock.advance(timedelta(minutes=5))
    numbers = browser.get("/merchant/live.json?minutes=10").json()
    assert (numbers["triggers"], numbers["cart_adds"]) == (2, 4)  # 12:55 left the window
    assert len(numbers["buckets"]) == 10
    assert numbers["buckets"][-1]["minute"] == "2026-11-20T13:07:00+00:00"


def test_following_a_post_counts_only_its_replies_and_web_adds(shop: WebShop) -> None:
    shop.ingest(
        [
            reply(
                ALICE_DID,
                "3mmlive000009",
                "#cart",
                61,
                parent="at://did:plc:x/app.bsky.feed.post/nope",
            )
        ]
    )
    browser = merchant(shop)
    assert browser.get("/merchant/live.json?minutes=10").json()["triggers"] == 5
    followed = browser.get(f"/merchant/live.json?minutes=10&post={BRAND}").json()
    assert (followed["triggers"], followed["cart_adds"]) == (4, 4)
    assert followed["post"] == f"bluesky/{BRAND_POST}"
    other = browser.get(f"/merchant/live.json?minutes=10&post=x/{X_SHOP_ID}").json()
    assert (other["triggers"], other["cart_adds"]) == (0, 0)
    assert all(b["triggers"] == b["cart_adds"] == 0 for b in other["buckets"])


def test_the_chart_is_a_well_formed_svg_with_axes_labels_and_a_legend(shop: WebShop) -> None:
    response = merchant(shop).get("/merchant/live.svg?minutes=10")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    root = ET.fromstring(response.text)
    assert root.tag == f"{SVG}svg"
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "Trigger replies" in texts and "Cart adds" in texts  # the legend
    # Every other minute labelled, counted back from the newest.
    assert {"13:02", "13:00", "12:54"} <= set(texts) and "12:53" not in texts
    assert {"0", "1", "2"} <= set(texts)  # the y axis
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert not [e for e in root.iter() if e.tag.endswith("script") or "style" in e.attrib]


def test_the_chart_escapes_what_a_stranger_wrote(web_shop: WebShop) -> None:
    web_shop.ingest([mastodon_shop_post(minutes=50)])
    response = merchant(web_shop).get(
        f"/merchant/live.svg?minutes=30&post=mastodon/{MASTODON_SHOP_ID}"
    )
    root = ET.fromstring(response.text)  # parses: nothing broke out of its element
    assert not [e for e in root.iter() if e.tag.endswith(("script", "img", "foreignObject"))]
    assert not [e for e in root.iter() if any(a.startswith("on") for a in e.attrib)]
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert "<script>alert(1)</script>" in title.text  # shown as text, not as markup
    assert "<script>" not in response.text


def test_the_chart_escapes_a_hostile_post_parameter(web_shop: WebShop) -> None:
    evil = quote(f"x/{HOSTILE}", safe="")
    browser = merchant(web_shop)
    svg = browser.get(f"/merchant/live.svg?post={evil}")
    ET.fromstring(svg.text)
    assert "<script>" not in svg.text and "<img" not in svg.text
    page = browser.get(f"/merchant/live?post={evil}").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page


def test_the_page_shows_the_chart_and_refreshes_it_with_a_script_file(shop: WebShop) -> None:
    browser = merchant(shop)
    response = browser.get(f"/merchant/live?minutes=10&post={BRAND}")
    page = response.text
    assert response.status_code == 200
    assert f'src="/merchant/live.svg?minutes=10&amp;post={BRAND}"' in page
    assert f'data-json="/merchant/live.json?minutes=10&amp;post={BRAND}"' in page
    assert '<script src="/static/live.js" defer></script>' in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'data-live-field="cart_adds">4<' in page
    script = browser.get("/static/live.js")
    assert script.status_code == 200
    assert "setInterval" in script.text and "data-live-field" in script.text
    assert 'data-every="5"' in page


def test_the_page_lets_you_pick_a_post_and_a_window(shop: WebShop) -> None:
    page = merchant(shop).get(f"/merchant/live?post={BRAND}").text
    assert f'<option value="bluesky/{BRAND_POST}" selected>' in page
    assert f'<option value="x/{X_SHOP_ID}">' in page
    assert '<option value="60" selected>' in page


@pytest.mark.parametrize(
    "query", ["minutes=0", "minutes=abc", "minutes=99999", "post=nowhere", "post=myspace/1"]
)
def test_nonsense_parameters_are_refused(web_shop: WebShop, query: str) -> None:
    browser = merchant(web_shop)
    assert browser.get(f"/merchant/live.json?{query}").status_code == 400
    assert browser.get(f"/merchant/live.svg?{query}").status_code == 400
    page = browser.get(f"/merchant/live?{query}")
    assert page.status_code == 400 and 'class="error"' in page.text


@pytest.mark.parametrize("path", ["/merchant/live", "/merchant/live.svg", "/merchant/live.json"])
def test_only_merchants_see_the_live_view(web_shop: WebShop, path: str) -> None:
    signed_out = web_shop.browser().get(path, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/merchant/sign-in?next=")
    shopper = web_shop.browser()
    shopper.sign_up("ann@example.com")
    assert shopper.get(path, follow_redirects=False).status_code == 403


def test_chart_labels_and_series_names_are_escaped() -> None:
    svg = line_chart(
        'A & B <"title">',
        ["<x>", "y&"],
        [Series("</text><script>alert(1)</script>", "#123456", [0, 3])],
        subtitle="<sub>",
    )
    root = ET.fromstring(svg)
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert 'A & B <"title">' in texts
    assert "</text><script>alert(1)</script>" in texts
    assert "<x>" in texts and "y&" in texts and "<sub>" in texts
    assert not [e for e in root.iter() if e.tag.endswith("script")]


def test_a_series_colour_must_be_a_plain_hex_colour() -> None:
    with pytest.raises(ValueError, match="colour"):
        Series("x", 'red" onload="alert(1)', [1])


@pytest.mark.parametrize(
    ("largest", "step"), [(0, 1), (1, 1), (3, 1), (7, 2), (12, 5), (40, 10), (99, 20), (1234, 500)]
)
def test_the_y_axis_steps_are_round_numbers(largest: int, step: int) -> None:
    assert nice_step(largest) == step


def test_a_chart_of_a_day_has_no_dots_and_few_labels() -> None:
    svg = line_chart("day", [str(i) for i in range(1440)], [Series("a", "#000000", [1] * 1440)])
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}circle"))
    assert len([t for t in root.iter(f"{SVG}text") if (t.text or "").isdigit()]) <= 12


def test_a_phone_gets_the_chart_drawn_at_its_own_width_with_fewer_time_labels(
    shop: WebShop,
) -> None:
    # Issue 14: the 760 px chart shrunk onto a 390 px phone had ~5 px axis labels.
    response = merchant(shop).get("/merchant/live.svg?minutes=10&size=phone")
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert (root.get("width"), root.get("viewBox")) == ("380", "0 0 380 300")
    assert root.get("font-size") == "12"
    times = [
        e.text for e in root.iter(f"{SVG}text") if e.text and e.text[:2].isdigit() and ":" in e.text
    ]
    assert 2 <= len(times) <= 4, times
    page = merchant(shop).get("/merchant/live").text
    assert 'media="(max-width: 640px)"' in page
    assert "size=phone" in page
