"""A shop with shoppable posts on three networks, replies through the real engine, and orders
inserted as checkout would write them: the material of the funnel, live and API tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.api_tokens import create_token
from hashcart.web.tokens import digest
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post, mastodon_status, post_uri, x_tweet
from tests.web.conftest import WebShop

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
KETTLE = f"https://{HOST}/products/gooseneck-kettle"

ALICE_DID = "did:plc:alice0000000000000000000"
BOB_DID = "did:plc:bob000000000000000000000"
CAROL_DID = "did:plc:carol00000000000000000000"
DAVE_DID = "did:plc:dave000000000000000000000"
ERIN_DID = "did:plc:erin000000000000000000000"

BRAND_RKEY = "3mmbrand00001"
BRAND_POST = post_uri(SHOP_DID, BRAND_RKEY)
BRAND_TEXT = f"New in: the enamel mug {MUG} and our summit roast {BEANS}"

X_SHOP_ID = "1900000000000000001"
X_SHOP_USER = "900"
X_SHOP_HANDLE = "TrailheadCoffee"
X_FAN_ID = "1900000000000000101"
X_FAN_USER = "901"

MASTODON_SHOP_ID = "109000000000000001"
MASTODON_ACCOUNT = "https://social.example/users/trailhead"

HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> javascript:alert(1)'


def brand_post() -> bytes:
    return jetstream_post(SHOP_DID, BRAND_RKEY, BRAND_TEXT, links=(MUG, BEANS), minutes=0)


def reply(did: str, rkey: str, text: str, minutes: float, parent: str = BRAND_POST) -> bytes:
    return jetstream_post(did, rkey, text, reply_to=parent, minutes=minutes)


def x_shop_post(minutes: float = 10) -> bytes:
    return x_tweet(
        X_SHOP_ID,
        X_SHOP_USER,
        X_SHOP_HANDLE,
        f"Back soon: {KETTLE}",
        links=(KETTLE,),
        minutes=minutes,
    )


def mastodon_shop_post(minutes: float = 20) -> bytes:
    html = (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; "
        f'javascript:alert(1) <a href="{BEANS}">{BEANS}</a></p>'
    )
    return mastodon_status(MASTODON_SHOP_ID, MASTODON_ACCOUNT, "trailhead", html, minutes=minutes)


@dataclass(frozen=True)
class Scenario:
    """What the funnel should count for BRAND_POST, by construction."""

    triggers: int = 6
    valid: int = 4  # alice, bob, carol (pending), erin
    carted: int = 3  # alice, erin, and frank's web add
    wishlisted: int = 1  # bob
    pending: int = 1  # carol


def build_funnel_shop(shop: WebShop) -> Scenario:
    """Shoppers with web accounts and links, the three shop posts, and the replies:

    on the Bluesky post (mug = 1, beans = 2): alice `#cart 1` (added), bob `#wishlist 2`
    (wish-listed), carol unlinked `#cart 2` (pending), dave unlinked `#cart` (which product:
    invalid), alice again `#cart 1` (already in cart: invalid), erin `#cart 1` (added), and
    frank adds the post's mug on the web. On the X post (kettle, out of stock): a linked fan
    `#cart` (unavailable: invalid).
    """
    for name, did in (("alice", ALICE_DID), ("bob", BOB_DID), ("erin", ERIN_DID)):
        shop.browser().sign_up(f"{name}@example.com", name.title())
        shop.link(f"{name}@example.com", Network.BLUESKY, did, f"{name}.bsky.social")
    shop.browser().sign_up("frank@example.com", "Frank")
    shop.browser().sign_up("xfan@example.com", "X Fan")
    shop.link("xfan@example.com", Network.X, X_FAN_USER, "xfan")
    shop.ingest(
        [
            brand_post(),
            reply(ALICE_DID, "3mmreply00001", "#cart 1 love it", 5),
            reply(BOB_DID, "3mmreply00002", "#wishlist 2", 6),
            reply(CAROL_DID, "3mmreply00003", "#cart 2", 7),
            reply(DAVE_DID, "3mmreply00004", "#cart", 8),
            reply(ALICE_DID, "3mmreply00005", "#cart 1 again", 9),
            reply(ERIN_DID, "3mmreply00006", "#cart 1", 10),
            x_shop_post(),
            x_tweet(
                X_FAN_ID,
                X_FAN_USER,
                "xfan",
                "#cart",
                reply_to=X_SHOP_ID,
                hashtags=("cart",),
                minutes=12,
            ),
            mastodon_shop_post(),
        ]
    )
    add_web_cart_line(shop, "frank@example.com", "mug", f"bluesky/{BRAND_POST}")
    return Scenario()


def customer_id(shop: WebShop, email: str) -> int:
    from sqlalchemy import select

    with shop.app.engine.connect() as connection:
        return int(
            connection.execute(
                select(t.customers.c.id).where(t.customers.c.email == email)
            ).scalar_one()
        )


def add_web_cart_line(shop: WebShop, email: str, product_id: str, source: str) -> None:
    """A cart line as the shop front's add-to-cart button writes it."""
    owner = customer_id(shop, email)
    with shop.app.engine.begin() as connection:
        connection.execute(
            insert(t.cart_lines).values(
                customer_id=owner,
                product_id=product_id,
                quantity=1,
                network="web",
                post_id=source,
                created_at=shop.clock.now(),
            )
        )


@dataclass(frozen=True)
class Line:
    product_id: str
    unit_price: str
    quantity: int
    network: str | None
    post_id: str | None
    currency: str = "USD"


def add_order(
    shop: WebShop, email: str, lines: list[Line], key: str, at: datetime | None = None
) -> int:
    """An order row and its lines, as checkout writes them."""
    total = sum((Decimal(line.unit_price) * line.quantity for line in lines), Decimal(0))
    owner = customer_id(shop, email)
    with shop.app.engine.begin() as connection:
        order_id = connection.execute(
            insert(t.orders)
            .values(
                customer_id=owner,
                checkout_key=key,
                status="paid",
                email=email,
                ship_name="Sam Shopper",
                ship_line1="1 Main St",
                ship_line2=None,
                ship_city="Springfield",
                ship_postcode="12345",
                ship_country="US",
                payment_gateway="test_card",
                payment_reference=f"tc_{key}",
                total_amount=total,
                currency=lines[0].currency,
                created_at=at or shop.clock.now(),
            )
            .returning(t.orders.c.id)
        ).scalar_one()
        connection.execute(
            insert(t.order_lines),
            [
                {
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "title": line.product_id.title(),
                    "unit_price": Decimal(line.unit_price),
                    "currency": line.currency,
                    "quantity": line.quantity,
                    "network": line.network,
                    "post_id": line.post_id,
                }
                for line in lines
            ],
        )
    return int(order_id)


def add_scenario_orders(shop: WebShop) -> None:
    """alice: 1 mug + 2 beans from the Bluesky post; erin: 2 mugs from it and a kettle from
    the X post. The Bluesky post: 2 orders, 5 units, $103.00; the X post: 1, 1, $69.00."""
    add_order(
        shop,
        "alice@example.com",
        [
            Line("mug", "18.00", 1, "bluesky", BRAND_POST),
            Line("beans", "24.50", 2, "bluesky", BRAND_POST),
        ],
        "order-alice",
    )
    add_order(
        shop,
        "erin@example.com",
        [
            Line("mug", "18.00", 2, "bluesky", BRAND_POST),
            Line("kettle", "69.00", 1, "x", X_SHOP_ID),
        ],
        "order-erin",
    )


def api_token(shop: WebShop, name: str = "reporting", secret: str = "hc_test_token") -> str:
    with shop.app.engine.begin() as connection:
        create_token(connection, name, digest(secret), shop.clock.now())
    return secret
