"""The demo shop (Trailhead Coffee: beans and camp-coffee gear), its social accounts and
its shoppers. The demo and the benchmarks seed the store from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hashcart.synthetic._people import (
    HOME_INSTANCE,
    BlueskyAccount,
    MastodonAccount,
    Persona,
    XAccount,
)


@dataclass(frozen=True)
class DemoProduct:
    product_id: str
    title: str
    link: str
    price: str  # "19.99 USD"
    availability: str  # in_stock | out_of_stock | preorder | discontinued


@dataclass(frozen=True)
class Shopper:
    email: str
    name: str
    # network ("x" | "mastodon" | "bluesky") -> (stable account id, handle):
    # X user id_str, Mastodon account uri, Bluesky DID.
    accounts: dict[str, tuple[str, str]]


# (product_id, handle, variant, title, price, availability)
_PRODUCTS: tuple[tuple[str, str, str | None, str, str, str], ...] = (
    (
        "house-blend-12oz",
        "house-blend",
        None,
        "Trailhead House Blend, whole bean, 12 oz",
        "16.50 USD",
        "in_stock",
    ),
    (
        "summit-espresso-2lb",
        "summit-espresso",
        "44210387402817",
        "Summit Espresso, whole bean, 2 lb bag",
        "42.00 USD",
        "in_stock",
    ),
    (
        "ridgeline-decaf-12oz",
        "ridgeline-decaf",
        None,
        "Ridgeline Swiss Water Decaf, 12 oz",
        "17.00 USD",
        "in_stock",
    ),
    (
        "ethiopia-guji-12oz",
        "ethiopia-guji-natural",
        None,
        "Ethiopia Guji Natural, single origin, 12 oz",
        "21.00 USD",
        "in_stock",
    ),
    (
        "cold-brew-packs-8",
        "cold-brew-packs",
        None,
        "Cold Brew Packs, box of 8",
        "14.00 USD",
        "in_stock",
    ),
    (
        "enamel-mug-pine",
        "enamel-camp-mug",
        "44210387501121",
        "Enamel Camp Mug, 12 oz, Pine Green",
        "12.00 USD",
        "in_stock",
    ),
    (
        "enamel-mug-sunrise",
        "enamel-camp-mug",
        "44210387533889",
        "Enamel Camp Mug, 12 oz, Sunrise Orange",
        "12.00 USD",
        "in_stock",
    ),
    (
        "titanium-pour-over",
        "titanium-pour-over",
        None,
        "Titanium Pour-Over Dripper",
        "34.00 USD",
        "in_stock",
    ),
    (
        "trail-flask-granite",
        "insulated-trail-flask",
        "44210387566657",
        "Insulated Trail Flask, 750 ml, Granite",
        "29.99 USD",
        "out_of_stock",
    ),
    (
        "ridge-hand-grinder",
        "ridge-hand-grinder",
        None,
        "Ridge Hand Grinder, steel conical burrs",
        "79.00 USD",
        "in_stock",
    ),
    (
        "canvas-tote",
        "trailhead-canvas-tote",
        None,
        "Trailhead Canvas Tote",
        "19.99 USD",
        "in_stock",
    ),
    (
        "winter-solstice-2023",
        "winter-solstice-blend-2023",
        None,
        "Winter Solstice Blend 2023, 12 oz",
        "18.50 USD",
        "discontinued",
    ),
    (
        "panama-geisha-8oz",
        "panama-geisha-microlot",
        None,
        "Panama Geisha Microlot, 8 oz (ships in March)",
        "45.00 USD",
        "preorder",
    ),
)


def demo_catalog(host: str = "shop.example") -> list[DemoProduct]:
    """Thirteen products; links are `https://{host}/products/<handle>`, the variants of a
    product add `?variant=<id>`. One is out of stock, one discontinued, one a preorder."""
    products = []
    for product_id, handle, variant, title, price, availability in _PRODUCTS:
        link = f"https://{host}/products/{handle}"
        if variant is not None:
            link += f"?variant={variant}"
        products.append(DemoProduct(product_id, title, link, price, availability))
    return products


def product(product_id: str, host: str = "shop.example") -> DemoProduct:
    for item in demo_catalog(host):
        if item.product_id == product_id:
            return item
    raise KeyError(product_id)


BRAND = Persona(
    name="Trailhead Coffee Co.",
    bio="Small-batch roaster for people who drink coffee outside. Beans, camp gear, "
    "and the occasional trail report. Roasted Mondays & Thursdays in Bend, OR.",
    location="Bend, OR",
    website="https://shop.example",
    joined=datetime(2021, 5, 12, 16, 4, 31, tzinfo=UTC),
    followers=18_412,
    following=611,
    posts=4_208,
    likes=9_377,
    x=XAccount(1392207040934993921, "trailhead_coffee"),
    mastodon=MastodonAccount(109347268814390121, "trailhead_coffee", HOME_INSTANCE),
    bluesky=BlueskyAccount("did:plc:tr4ilhe4dcoffee5bq2kx7wd", "trailheadcoffee.bsky.social"),
)

_SHOPPERS: tuple[tuple[str, Persona], ...] = (
    (
        "maya.okafor@example.com",
        Persona(
            name="Maya Okafor",
            bio="Trail runner, bad at rest days. Coffee before conversation. she/her",
            location="Portland, OR",
            website="https://mayaruns.example",
            joined=datetime(2014, 3, 2, 18, 22, 5, tzinfo=UTC),
            followers=1_284,
            following=402,
            posts=9_861,
            likes=22_310,
            x=XAccount(3170842291, "maya_okafor"),
            mastodon=MastodonAccount(109298447112040771, "mayaok", HOME_INSTANCE),
            bluesky=BlueskyAccount("did:plc:m4y4ok4forz7tq2vrhw3nb5c", "mayaokafor.bsky.social"),
        ),
    ),
    (
        "jonas.berg@example.net",
        Persona(
            name="Jonas Berg",
            bio="Ultralight gear nerd. Ask me about my spreadsheet of grams. 🏔️",
            location="Bergen, Norway",
            website=None,
            joined=datetime(2019, 8, 19, 7, 40, 12, tzinfo=UTC),
            followers=532,
            following=611,
            posts=3_402,
            likes=8_044,
            x=XAccount(1163449811327389696, "jonasberg_"),
            bluesky=BlueskyAccount("did:plc:jon4sb3rgq6ndw2u7kxe5lyp", "jonasberg.bsky.social"),
        ),
    ),
    (
        "priya.raman@example.org",
        Persona(
            name="Priya Raman",
            bio="Birds, books, and bikepacking. Home barista in training ☕ she/her",
            location="Leeds, UK",
            website="https://priya.example",
            joined=datetime(2022, 11, 6, 21, 3, 44, tzinfo=UTC),
            followers=388,
            following=290,
            posts=1_977,
            likes=4_519,
            mastodon=MastodonAccount(109302117554020881, "priya", "fosstodon.example"),
            bluesky=BlueskyAccount("did:plc:priy4r4m4nh2z5cwq7etv3kd", "priyaraman.bsky.social"),
        ),
    ),
    (
        "lucia.fernandez@example.com",
        Persona(
            name="Lucía Fernández",
            bio="Fotógrafa. Camps in the rain on purpose. Café solo, sin azúcar.",
            location="Valencia",
            website="https://luciafdz.example",
            joined=datetime(2022, 11, 25, 10, 15, 0, tzinfo=UTC),
            followers=2_941,
            following=780,
            posts=6_120,
            likes=15_233,
            x=XAccount(1596843128801026048, "luciafdz"),
            mastodon=MastodonAccount(109412204496660519, "luciafdz", "hachyderm.example"),
        ),
    ),
    (
        "sam.whitaker@example.net",
        Persona(
            name="Sam Whitaker",
            bio="Nurse on nights. Hiker on days off. Runs on cold brew. he/him",
            location="Denver, CO",
            website=None,
            joined=datetime(2017, 9, 3, 14, 12, 9, tzinfo=UTC),
            followers=211,
            following=340,
            posts=1_045,
            likes=2_876,
            x=XAccount(904113682113241088, "samwhit"),
            mastodon=MastodonAccount(109520936118342006, "samwhit", "social.example"),
            bluesky=BlueskyAccount("did:plc:s4mwhit4k3rp6yq2nfzo7c3j", "samwhitaker.bsky.social"),
        ),
    ),
)

LATE_SHOPPER_EMAIL = "sam.whitaker@example.net"


def _accounts(persona: Persona) -> dict[str, tuple[str, str]]:
    accounts: dict[str, tuple[str, str]] = {}
    if persona.x is not None:
        accounts["x"] = (persona.x.id_str, persona.x.screen_name)
    if persona.mastodon is not None:
        accounts["mastodon"] = (persona.mastodon.uri, persona.mastodon.acct)
    if persona.bluesky is not None:
        accounts["bluesky"] = (persona.bluesky.did, persona.bluesky.handle)
    return accounts


def demo_brand() -> dict[str, tuple[str, str]]:
    """The shop's own accounts: network -> (stable account id, handle)."""
    return _accounts(BRAND)


def demo_shoppers() -> list[Shopper]:
    """Five shoppers. The last, Sam Whitaker, is "the late linker": the demo links him
    only between the two halves of the stream."""
    return [Shopper(email, p.name, _accounts(p)) for email, p in _SHOPPERS]


def shopper_persona(email: str) -> Persona:
    for known, persona in _SHOPPERS:
        if known == email:
            return persona
    raise KeyError(email)
