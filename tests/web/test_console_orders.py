"""The console's orders list, order page, CSV export and packing slip (issue 14, orders and
fulfilment), through HTTP on SQLite (the database matters only to the cancel races, which
tests/integration/test_order_cancel runs on PostgreSQL too): each filter, the search by
email, handle and number, key paging across ties in time, the page's posts, payment and
timeline, ship with a carrier, cancel through the form, the CSV's header, quoting and
formula safety, and the slip as a PDF."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.orders import Address
from hashcart.views import console_orders
from hashcart.web.packing_slip import Slip, SlipLine, packing_slip, unicode_font
from tests.orders_support import OrderLine, place
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, assert_inert, parse

ALICE = "alice@example.com"
BOB = "bob@example.com"
ALICE_DID = "did:plc:alice0000000000000000000"
MUG_LINK = "https://shop.example/products/enamel-mug"


@pytest.fixture
def shop(web_shop: WebShop) -> Iterator[WebShop]:
    web_shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    web_shop.customer(BOB, (Network.X, "2002", "bob_on_x"))
    yield web_shop


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def listed(browser: Browser, **params: str) -> list[int]:
    page = browser.get("/merchant/orders", params=params)
    assert page.status_code == 200, page.text
    return [int(row[0]) for row in parse(page.text).rows[1:]]


def line(network: str | None, post: str | None, trigger: str | None = None) -> OrderLine:
    return OrderLine(
        "mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", 1, network, post, trigger
    )


# --- the list ---------------------------------------------------------------------------------


def test_the_home_tile_leads_to_the_orders_list(shop: WebShop) -> None:
    home = merchant(shop).get("/merchant").text
    assert '<a class="stat" href="/merchant/orders"><span class="value">0</span>' in home


def test_the_status_filter_and_its_counts(shop: WebShop) -> None:
    paid, cancelled = place(shop, "a"), place(shop, "b")
    with shop.app.engine.begin() as connection:
        connection.execute(
            t.orders.update().where(t.orders.c.id == cancelled).values(status="cancelled")
        )
    browser = merchant(shop)
    assert listed(browser) == [cancelled, paid]
    assert listed(browser, status="cancelled") == [cancelled]
    assert listed(browser, status="paid") == [paid]
    text = parse(browser.get("/merchant/orders").text).text
    assert "All 2" in text and "Paid 1" in text and "Cancelled 1" in text and "Refunded 0" in text


def test_the_date_range_takes_whole_utc_days(shop: WebShop) -> None:
    now = shop.clock.now()
    day = now.date()
    before = place(shop, "a", at=now - timedelta(days=2))
    today = place(shop, "b", at=now)
    browser = merchant(shop)
    assert listed(browser, since=day.isoformat()) == [today]
    assert listed(browser, until=(day - timedelta(days=1)).isoformat()) == [before]
    both = listed(browser, since=(day - timedelta(days=2)).isoformat(), until=day.isoformat())
    assert both == [today, before]


def test_the_network_and_post_filters(shop: WebShop) -> None:
    bluesky = place(shop, "a", lines=(line("bluesky", "p1", "r1"),))
    mastodon = place(shop, "b", lines=(line("mastodon", "p2", "r2"),))
    web = place(shop, "c")
    browser = merchant(shop)
    assert listed(browser) == [web, mastodon, bluesky]
    assert listed(browser, network="bluesky") == [bluesky]
    assert listed(browser, post="p2") == [mastodon]
    assert listed(browser, post="r1") == [bluesky]  # the shopper's reply finds it too
    assert listed(browser, network="bluesky", post="p2") == []


def test_the_search_by_email_handle_and_number(shop: WebShop) -> None:
    alices, bobs = place(shop, "a", ALICE), place(shop, "b", BOB)
    browser = merchant(shop)
    assert listed(browser, q="ALICE@") == [alices]
    assert listed(browser, q="@bob_on") == [bobs]
    assert listed(browser, q="alice.bsky") == [alices]
    assert listed(browser, q=f"#{bobs}") == [bobs]
    assert listed(browser, q=str(alices)) == [alices]
    assert listed(browser, q="nobody") == []


def test_a_bad_filter_is_shown_beside_its_field_and_the_rest_still_filters(
    shop: WebShop,
) -> None:
    place(shop, "a")
    bobs = place(shop, "b", BOB)
    page = merchant(shop).get("/merchant/orders", params={"since": "last tuesday", "q": "bob"})
    assert page.status_code == 400
    assert 'id="since-error"' in page.text and "YYYY-MM-DD" in page.text
    assert 'aria-describedby="since-error"' in page.text
    assert [int(row[0]) for row in parse(page.text).rows[1:]] == [bobs]


def test_key_paging_walks_ties_in_time_once_each_newest_first(shop: WebShop) -> None:
    now = shop.clock.now()
    # Three orders at each of the same two moments, one earlier: ids break the ties.
    numbers = [place(shop, f"k{i}", at=now - timedelta(minutes=i // 3)) for i in range(7)]
    expected = [numbers[i] for i in (2, 1, 0, 5, 4, 3, 6)]
    seen: list[int] = []
    after = ""
    with shop.app.engine.connect() as connection:
        while True:
            page = console_orders.order_page(connection, None, after, per_page=2)
            assert page.first == (after == "")
            seen += [row.id for row in page.items]
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == expected


def test_previous_walks_back_through_ties_to_the_newest_page(shop: WebShop) -> None:
    now = shop.clock.now()
    numbers = [place(shop, f"p{i}", at=now - timedelta(minutes=i // 3)) for i in range(7)]
    with shop.app.engine.connect() as connection:
        forward = []
        page = console_orders.order_page(connection, None, "", per_page=2)
        while True:
            forward.append([row.id for row in page.items])
            if page.next_after is None:
                break
            page = console_orders.order_page(connection, None, page.next_after, per_page=2)
        backward = []
        while page.previous_before is not None:
            page = console_orders.order_page(
                connection, None, before=page.previous_before, per_page=2
            )
            backward.append([row.id for row in page.items])
    assert sorted(id for ids in forward for id in ids) == sorted(numbers)
    assert backward == forward[-2::-1]
    assert page.first


def test_the_next_link_carries_the_last_key_and_the_filter(shop: WebShop) -> None:
    now = shop.clock.now()
    # Ten orders a second, each second older than the last: ties in time on both pages.
    moments = [now - timedelta(seconds=i // 10) for i in range(55)]
    numbers = [place(shop, f"k{i}", at=moment) for i, moment in enumerate(moments)]
    newest_first = [n for _, n in sorted(zip(moments, numbers, strict=True), reverse=True)]
    browser = merchant(shop)
    first = browser.get("/merchant/orders", params={"status": "paid"})
    links = [
        value
        for _, name, value in parse(first.text).attributes
        if name == "href" and "after=" in value
    ]
    assert len(links) == 1 and "status=paid" in links[0]
    second = browser.get(links[0])
    shown = [int(row[0]) for row in parse(first.text).rows[1:]]
    assert len(shown) == 50
    shown += [int(row[0]) for row in parse(second.text).rows[1:]]
    assert shown == newest_first
    assert 'rel="next"' not in second.text and "← Newest" in second.text


def test_the_order_page_shows_posts_payment_and_a_timeline(shop: WebShop) -> None:
    shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {MUG_LINK}", links=(MUG_LINK,)),
            jetstream_post(
                ALICE_DID,
                "3mmreply00001",
                "#cart",
                reply_to=post_uri(SHOP_DID, "3mmbrand00001"),
                minutes=5,
            ),
        ]
    )
    number = place(
        shop,
        "a",
        lines=(
            line(
                "bluesky", post_uri(SHOP_DID, "3mmbrand00001"), post_uri(ALICE_DID, "3mmreply00001")
            ),
        ),
    )
    browser = merchant(shop)
    shipped = browser.submit(
        f"/merchant/orders/{number}/ship", {"carrier": "  Royal   Mail ", "tracking": ""}
    )
    assert shipped.status_code == 303
    page = browser.get(f"/merchant/orders/{number}").text
    text = parse(page).text
    assert "Payment" in text and "test_card" in text and "captured" in text
    assert "Shipped" in text and "by Royal Mail" in text
    assert 'href="https://bsky.app/profile/' in page  # links to the posts on Bluesky
    assert "orders from this post" in text
    timeline = text[text.index("Timeline") :]
    assert timeline.index("Placed") < timeline.index("Marked shipped")
    assert "Reply on bluesky: shipped" in timeline


def test_a_carrier_with_a_control_character_is_refused_beside_its_field(shop: WebShop) -> None:
    number = place(shop, "a")
    page = merchant(shop).submit(f"/merchant/orders/{number}/ship", {"carrier": "UPS\u202e"})
    assert page.status_code == 400
    assert 'id="carrier-error"' in page.text and "control character" in page.text
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(t.orders.c.shipped_at)).scalar_one() is None


def test_cancel_needs_its_box_and_its_csrf_token_then_cancels_once(shop: WebShop) -> None:
    number = place(shop, "a")
    browser = merchant(shop)
    unticked = browser.submit(f"/merchant/orders/{number}/cancel", {})
    assert unticked.status_code == 400 and 'id="confirm-error"' in unticked.text
    forged = browser.client.post(
        f"/merchant/orders/{number}/cancel", data={"confirm": "yes"}, follow_redirects=False
    )
    assert forged.status_code == 403
    done = browser.submit(f"/merchant/orders/{number}/cancel", {"confirm": "yes"})
    assert done.headers["location"] == f"/merchant/orders/{number}?cancelled=1"
    again = browser.submit(f"/merchant/orders/{number}/cancel", {"confirm": "yes"})
    assert again.headers["location"] == f"/merchant/orders/{number}?cancelled=again"
    page = browser.get(done.headers["location"]).text
    assert "Cancelled" in page and f'action="/merchant/orders/{number}/cancel"' not in page
    assert f'action="/merchant/orders/{number}/ship"' not in page
    with shop.app.engine.connect() as connection:
        reasons = connection.execute(select(t.outbox.c.reason)).scalars().all()
        payment = connection.execute(select(t.payments.c.status)).scalar_one()
    assert reasons.count("order_cancelled") == 1 and payment == "refunded"


# --- the CSV export -----------------------------------------------------------------------------


def test_the_csv_has_its_header_quotes_commas_and_defuses_formulas(shop: WebShop) -> None:
    hostile = Address('=HYPERLINK("http://evil.test","x")', "1 Rd", "", "Leeds", "1", "GB")
    quoted = Address('Smith, "Jr"', "1 Rd", "", "Leeds", "1", "GB")
    first = place(shop, "a", address=hostile)
    second = place(shop, "b", address=quoted)
    place(shop, "c", BOB)
    answer = merchant(shop).get("/merchant/orders.csv", params={"q": "alice"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert tuple(rows[0]) == console_orders.CSV_HEADER
    by_order = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert sorted(by_order) == sorted([str(first), str(second)])  # Bob's is filtered out
    assert by_order[str(first)]["name"] == "'" + hostile.name
    assert by_order[str(second)]["name"] == 'Smith, "Jr"'
    assert '"Smith, ""Jr"""' in answer.text
    row = by_order[str(first)]
    assert row["items"] == "1 x Trailhead Enamel Mug" and row["total"] == "18.00"
    assert row["status"] == "paid" and row["payment_gateway"] == "test_card"


def test_the_csv_streams_every_batch(shop: WebShop) -> None:
    numbers = [place(shop, f"k{i}") for i in range(5)]
    with shop.app.engine.connect() as connection:
        first, after = console_orders.export_rows(connection, console_orders.OrderFilter(), None, 2)
        assert [int(row[0]) for row in first] == sorted(numbers, reverse=True)[:2]
        assert after is not None and after.id == sorted(numbers, reverse=True)[1]
    rows = list(csv.reader(io.StringIO(merchant(shop).get("/merchant/orders.csv").text)))
    assert [int(row[0]) for row in rows[1:]] == sorted(numbers, reverse=True)


# --- the packing slip ---------------------------------------------------------------------------


def test_the_packing_slip_is_a_pdf_naming_the_order(shop: WebShop) -> None:
    number = place(
        shop, "a", address=Address("Zoë 山田 " + HOSTILE_SCRIPT, "1 Rd", "", "Łódź", "1", "PL")
    )
    answer = merchant(shop).get(f"/merchant/orders/{number}/packing-slip.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert f"/Title (Packing slip, order {number})".encode() in answer.content
    if unicode_font() is not None:
        assert b"DejaVuSans" in answer.content


def test_the_slip_text_holds_number_address_lines_and_variant_words() -> None:
    from datetime import UTC, datetime

    slip = Slip(
        "Trailhead Coffee",
        42,
        datetime(2026, 12, 6, tzinfo=UTC),
        ("Ann", "1 Rd", "Leeds"),
        (SlipLine("Mug (x)", 2, "red M"),),
    )
    pdf = packing_slip(slip, font=None, compress=False)
    assert pdf.startswith(b"%PDF-")
    for said in (
        b"Packing slip: order 42",
        b"Trailhead Coffee",
        b"Leeds",
        b"(2)",
        b"red M",
        b"2026-12-06",
    ):
        assert said in pdf, said
    # Without a Unicode font other characters become "?" instead of failing.
    other = Slip("Café ☕", 7, datetime(2026, 12, 6, tzinfo=UTC), ("山田",), ())
    fallback = packing_slip(other, font=None, compress=False)
    assert b"(Caf\xe9 ?) Tj" in fallback and b"(??) Tj" in fallback


def test_hostile_text_stays_inert_on_the_order_pages(shop: WebShop) -> None:
    number = place(shop, "a", address=Address(HOSTILE_SCRIPT, "1 Rd", "", "Leeds", "1", "GB"))
    browser = merchant(shop)
    assert_inert(browser.get(f"/merchant/orders/{number}").text)
    assert_inert(browser.get("/merchant/orders").text)


def test_a_cancelled_order_whose_refund_was_refused_can_be_refunded_later(
    shop: WebShop,
) -> None:
    from hashcart.services.order_care import cancel_order
    from tests.orders_support import CountingGateway

    number = place(shop, "a")
    refused = CountingGateway(refuse=True)
    cancel_order(
        shop.app.unit_of_work, shop.app.shop(), number, shop.clock.now(), refused.as_gateways()
    )
    browser = merchant(shop)
    page = browser.get(f"/merchant/orders/{number}").text
    assert "refund refused: The gateway is down" in page
    assert f'action="/merchant/orders/{number}/refund"' in page
    done = browser.submit(f"/merchant/orders/{number}/refund", {"confirm": "yes"})
    assert done.status_code == 303
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(t.payments.c.status)).scalar_one() == "refunded"
