"""`hashcart demo`: a demo shop in a fresh local database, fed a mixed stream from X, Mastodon
and Bluesky, with a shopper who links their account halfway through, and web sign-ins for
its merchant and shoppers (`hashcart demo --serve` then serves it, see live_demo)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

from hashcart.bootstrap import App
from hashcart.config import Settings
from hashcart.demo_offer import DemoOffer, show_demo_offer
from hashcart.demo_sale import DemoSale, run_demo_sale
from hashcart.domain.posts import Network
from hashcart.ports import Address, NewOrder, OrderLine, UnitOfWork
from hashcart.services.catalog import FeedRow, parse_price
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.linking import LinkResult, link_account
from hashcart.store import accounts
from hashcart.store.known_handles import remember_handle
from hashcart.synthetic import (
    DemoProduct,
    Shopper,
    demo_brand,
    demo_catalog,
    demo_shoppers,
    demo_stream,
)

DEMO_HOST = "shop.example"
# The demo's web sign-ins. A known password is fine here and only here: the demo shop is
# made fresh on the newcomer's own machine and served on loopback.
DEMO_MERCHANT_EMAIL = "merchant@trailhead.example"
DEMO_PASSWORD = "trailhead-demo"


def demo_shop_accounts() -> tuple[str, ...]:
    """The demo brand's own accounts on X, Mastodon and Bluesky, by their stable ids, as the
    setting `shop_accounts` takes them: the demo's shop front shows only the brand's posts."""
    return tuple(
        f"{network}:{account_id}" for network, (account_id, _handle) in demo_brand().items()
    )


def demo_settings(settings: Settings) -> Settings:
    """`settings` with the demo's own values where the operator set none: the brand's
    accounts as the shop's accounts."""
    if "shop_accounts" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"shop_accounts": demo_shop_accounts()})


@dataclass
class DemoRun:
    products: int = 0
    shoppers: int = 0
    first: IngestStats = field(default_factory=IngestStats)
    second: IngestStats = field(default_factory=IngestStats)
    late_link: LinkResult | None = None
    late_shopper: str = ""
    order_id: int | None = None  # the order Maya asks about with `#order`
    # Buy with a post (issue 12): who bought, with which code, and the order it made.
    bought: DemoBuy | None = None
    # Offers by hashtag (issue 12): a demo shopper loads #trailhead10 and sees it at checkout.
    offer: DemoOffer | None = None
    # Live sales (issue 13): a short sale on the brand's live posts, claims from two networks.
    sale: DemoSale | None = None


@dataclass(frozen=True)
class DemoBuy:
    email: str
    code: str
    order_id: int | None


def feed_row(product: DemoProduct) -> FeedRow:
    """A demo product as the catalog import sees it."""
    amount, currency = parse_price(product.price)
    return FeedRow(
        product.product_id, product.title, product.link, amount, currency, product.availability
    )


def link_shopper(app: App, shopper: Shopper) -> LinkResult:
    """Make `shopper` a customer (if new) and link every social account they have."""
    shop = app.shop()
    result = LinkResult(created=False)
    with app.unit_of_work() as uow:
        repo = uow.repository
        repo.add_customer(shopper.email, shopper.name, app.clock.now())
        for network, (account_id, handle) in shopper.accounts.items():
            linked = link_account(
                repo, shop, shopper.email, Network(network), account_id, handle, app.clock.now()
            )
            result.created |= linked.created
            result.applied += linked.applied
            result.expired += linked.expired
    return result


IngestRunner = Callable[[Ingestor, str, list[bytes]], None]


def run_demo(app: App, ingest: IngestRunner, seed: int = 7) -> DemoRun:
    """Build the demo shop in `app`'s database and stream the demo posts through it. The
    brand's accounts become the shop's (`app.settings`, unless the operator named others)."""
    app.settings = demo_settings(app.settings)
    run = DemoRun()
    catalog = demo_catalog(DEMO_HOST)
    now = app.clock.now()
    with app.unit_of_work() as uow:
        repo = uow.repository
        run.products = repo.upsert_products(feed_row(p).as_values(now) for p in catalog)
        # The shop knows its own accounts' handles (a real shop learns them when it connects
        # them); Jetstream's posts carry only the DID, so the shop front shows these.
        for network, (account_id, handle) in demo_brand().items():
            remember_handle(uow.connection, network, account_id, handle, now)
        picture_demo_products(app, uow, catalog)
    stream = demo_stream(seed=seed, host=DEMO_HOST, now=now)
    late = stream.late_shopper
    for shopper in demo_shoppers():
        if shopper.email == late.email:
            with app.unit_of_work() as uow:
                repo = uow.repository
                repo.add_customer(shopper.email, shopper.name, now)
        else:
            link_shopper(app, shopper)
        run.shoppers += 1

    first = Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)
    ingest(first, "demo stream, first half", stream.first_half)
    run.first = first.stats
    run.late_link = link_shopper(app, late)
    run.late_shopper = late.email
    run.order_id = place_demo_order(app, catalog)
    second = Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)
    ingest(second, "demo stream, second half", stream.second_half)
    run.second = second.stats
    run.bought = buy_with_a_post(app, seed)
    run.offer = show_demo_offer(app, DEMO_HOST, ingest, seed)
    run.sale = run_demo_sale(app, DEMO_HOST, ingest, seed)
    return run


# Maya pays for a bag of the house blend on the web between the stream's halves; her
# `@trailhead_coffee #order` in the second half is answered privately with it.
DEMO_ORDER_SHOPPER = "maya.okafor@example.com"
DEMO_ORDER_PRODUCT = "house-blend-12oz"
# Maya's address: her web order's, and the one saved on her account page that the demo's
# buy with a post (she is its buyer too) ships to.
DEMO_MAYA_ADDRESS = Address("Maya Okafor", "12 Ridge Rd", "", "Bend", "97701", "US")


def place_demo_order(app: App, catalog: list[DemoProduct]) -> int | None:
    """Maya's paid order (the test-card gateway), once: a rebuilt demo finds it by its key."""
    product = next(p for p in catalog if p.product_id == DEMO_ORDER_PRODUCT)
    amount, currency = parse_price(product.price)
    with app.unit_of_work() as uow:
        known = uow.orders.with_key("demo-order-maya")
        if known is not None:
            return known.id
        customer_id = uow.repository.customer_id(DEMO_ORDER_SHOPPER)
        if customer_id is None:
            return None
        return uow.orders.add(
            NewOrder(
                customer_id=customer_id,
                checkout_key="demo-order-maya",
                status="paid",
                email=DEMO_ORDER_SHOPPER,
                address=DEMO_MAYA_ADDRESS,
                payment_gateway="test_card",
                payment_reference="CARD-4242-DEMO",
                total_amount=amount,
                currency=currency,
                created_at=app.clock.now(),
                lines=[
                    OrderLine(product.product_id, product.title, amount, currency, 1, None, None)
                ],
            )
        )


def buy_with_a_post(app: App, seed: int = 7) -> DemoBuy:
    """A demo shopper saves a test card (as `hashcart payment-methods add` does) and a
    shipping address (as the account page does), replies `#buy` under the brand's Bluesky
    post of a mug, and posts `#confirm CODE` with the code the shop answered: the saved card
    is charged and the order placed, to ship to that address."""
    from hashcart.services.payments import save_test_card
    from hashcart.synthetic.demo_buy import buy_scene

    scene = buy_scene(DEMO_HOST, app.clock.now(), seed)
    with app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(scene.buyer_email)
    assert customer_id is not None
    save_test_card(app.unit_of_work, customer_id, "4242424242424242", app.clock.now())
    with app.unit_of_work() as uow:
        uow.buys.save_address(customer_id, DEMO_MAYA_ADDRESS, app.clock.now())
    ingestor = Ingestor(
        app.unit_of_work,
        app.shop(),
        app.clock,
        reader=app.payload_reader,
        settle_buys=app.settle_buys,
    )
    ingestor.ingest_lines("demo buy with a post", [scene.brand_post, scene.buy])
    with app.unit_of_work() as uow:
        request = uow.buys.with_trigger("bluesky", scene.buy_uri)
    if request is None:  # the mug sold out in the stream: nothing to buy
        return DemoBuy(scene.buyer_email, "", None)
    ingestor.ingest_lines("demo buy with a post", [scene.confirm(request.code)])
    with app.unit_of_work() as uow:
        bought = uow.buys.find(request.id)
    return DemoBuy(scene.buyer_email, request.code, bought.order_id if bought else None)


@dataclass(frozen=True)
class DemoSignIn:
    role: str  # "merchant" | "shopper"
    email: str
    name: str
    password: str


def add_demo_sign_ins(app: App) -> list[DemoSignIn]:
    """Web sign-ins for the demo: the merchant and every demo shopper, all with
    DEMO_PASSWORD (set again if the database had them already, so the printed one works)."""
    from hashcart.web.passwords import hash_password

    now = app.clock.now()
    sign_ins = [DemoSignIn("merchant", DEMO_MERCHANT_EMAIL, "Trailhead staff", DEMO_PASSWORD)]
    with app.unit_of_work() as uow:
        connection = uow.connection
        accounts.add_merchant(connection, DEMO_MERCHANT_EMAIL, hash_password(DEMO_PASSWORD), now)
        for shopper in demo_shoppers():
            hashed = hash_password(DEMO_PASSWORD)
            customer_id = accounts.add_shopper(connection, shopper.email, shopper.name, hashed, now)
            if customer_id is None:
                existing = accounts.find_person(connection, "shopper", email=shopper.email)
                assert existing is not None
                accounts.set_password(connection, "shopper", existing.id, hashed)
            sign_ins.append(DemoSignIn("shopper", shopper.email, shopper.name, DEMO_PASSWORD))
    return sign_ins


# The demo's product pictures: drawn here (a colour from the product's id, its initials),
# so the demo shop front shows pictures without fetching any and the package ships none.
_DEMO_COLOURS = ("#2b8a72", "#8a5a2b", "#3a5a8c", "#7a3a6a", "#5a6a2b", "#8c3a3a", "#2b6a8a")


def demo_picture(product: DemoProduct) -> bytes:
    """A 400 x 400 PNG standing in for the product's photo."""
    from PIL import Image, ImageDraw

    colour = _DEMO_COLOURS[sum(product.product_id.encode()) % len(_DEMO_COLOURS)]
    picture = Image.new("RGB", (400, 400), "#f4f1ea")
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((70, 60, 330, 340), radius=36, fill=colour)
    draw.ellipse((140, 120, 260, 240), fill="#f4f1ea")
    initials = "".join(word[0] for word in product.title.split()[:2]).upper()
    draw.text((200, 290), initials, fill="#f4f1ea", anchor="mm", font_size=48)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def picture_demo_products(app: App, uow: UnitOfWork, catalog: list[DemoProduct]) -> None:
    """Give every demo product its drawn picture, as an upload in the console would."""
    from hashcart.services.images import upload_image

    limits = app.image_limits()
    for product in catalog:
        upload_image(uow, product.product_id, demo_picture(product), app.clock, limits)
