"""A shop running live sales (issue 13): priced products (a mug, a tee in two colours and two
sizes), the engine-test shop's customers, and claims in the real payload shapes of X,
Mastodon and Bluesky (tests/integration/social: X v1.1 tweets, Mastodon Status entities,
Jetstream v1 commits)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.ports import NewSaleItem, Sale
from hashcart.services.catalog import FeedRow
from hashcart.services.sales import SettleCounts, open_sale, settle_sales
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS, Shopper
from tests.payloads import SHOP_DID, at, post_uri

MUG = f"https://{HOST}/products/enamel-mug"
TEE = f"https://{HOST}/products/trail-tee"
NETWORKS = sorted(SHOPPERS)
SALE_POST = "7700001"  # the shop's sale post's key (a Bluesky rkey, an X or Mastodon id)
SETTLE = timedelta(seconds=3)


class SaleShop(Shop):
    """The engine-test shop with a mug at 24.00 EUR and a tee (Red/Blue, M/L) at 30.00 EUR."""

    def __init__(self, database_url: str, **settings: Any) -> None:
        super().__init__(database_url, **settings)
        now = self.clock.now()
        rows = [FeedRow("mug", "Trailhead Enamel Mug", MUG, Decimal("24.00"), "EUR", "in_stock")]
        for color in ("Red", "Blue"):
            for size in ("M", "L"):
                rows.append(
                    FeedRow(
                        f"tee-{color.lower()}-{size.lower()}",
                        f"Trail Tee - {color} / {size}",
                        f"{TEE}?v={color}{size}",
                        Decimal("30.00"),
                        "EUR",
                        "in_stock",
                        item_group_id="tee",
                        color=color,
                        size=size,
                    )
                )
        with transaction(self.app.engine) as repo:
            repo.upsert_products(row.as_values(now) for row in rows)

    def open(
        self,
        network: str,
        items: dict[str, tuple[str, int | None]],
        *,
        name: str = "Friday live",
        limit: int | None = None,
        hold_hours: float = 24,
    ) -> Sale:
        return open_sale(
            self.app.unit_of_work,
            name,
            [(network, sale_post_id(network))],
            [NewSaleItem(n, p, s, limit) for n, (p, s) in items.items()],
            hold_hours,
            self.clock.now(),
        )

    def settle(self) -> SettleCounts:
        counts = settle_sales(self.app.unit_of_work, self.app.shop(), self.clock)
        # Every test that settles also checks the waitlists' kept counts (store/
        # waitlist_counts): whatever the step did, each item's count is its waitlist's.
        kept, counted = self.waitlist_counts()
        assert kept == counted, (kept, counted)
        return counts

    def waitlist_counts(self) -> tuple[dict[int, int], dict[int, int]]:
        """Each item's kept count of waitlisted claims, and the count of its waitlist."""
        si, sc = t.sale_items, t.sale_claims
        with self.app.engine.connect() as connection:
            kept = {row.id: row.waitlisted for row in connection.execute(select(si))}
            counted = dict.fromkeys(kept, 0)
            waiting = select(sc.c.item_id, func.count()).where(sc.c.status == "waitlisted")
            for item_id, count in connection.execute(waiting.group_by(sc.c.item_id)):
                counted[item_id] = count
        return kept, counted

    def at(self, moment: datetime) -> None:
        """The clock to `moment` (tests move time; nobody sleeps)."""
        self.clock.advance(moment - self.clock.now())

    def claims(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            rows = connection.execute(select(t.sale_claims).order_by(t.sale_claims.c.id))
            return [dict(row) for row in rows.mappings()]

    def statuses(self) -> dict[str, str]:
        """Each claim's status, by its post id."""
        return {c["post_id"]: c["status"] for c in self.claims()}

    def winners(self) -> set[str]:
        return {c["post_id"] for c in self.claims() if c["status"] in ("held", "paid")}

    def invoices(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as connection:
            rows = connection.execute(select(t.sale_invoices).order_by(t.sale_invoices.c.id))
            return [dict(row) for row in rows.mappings()]

    def messages(self, reason: str) -> list[str]:
        return [m["text"] for m in self.outbox() if m["reason"] == reason]


def sale_post_id(network: str) -> str:
    return post_uri(SHOP_DID, SALE_POST) if network == "bluesky" else SALE_POST


def shopper(network: str, number: int) -> Shopper:
    """Shopper `number` of `network` (0: Alice, as the engine tests link her)."""
    base = SHOPPERS[network]
    if number == 0:
        return base
    n = Network(network)
    if n is Network.BLUESKY:
        return replace(base, account_id=f"did:plc:shopper{number:020d}", handle=f"s{number}.bsky")
    if n is Network.X:
        return replace(base, account_id=str(40_000 + number), handle=f"s{number}_x")
    return replace(base, account_id=f"https://social.example/users/s{number}", handle=f"s{number}")


def claim(network: str, number: int, key: str, text: str, seconds: float) -> bytes:
    """Shopper `number`'s reply `text` to the sale post, made `seconds` after BASE_TIME."""
    return shopper(network, number).reply(key, SALE_POST, text, minutes=seconds / 60)


def moment(seconds: float) -> datetime:
    return at(seconds / 60)


def link_everyone(shop: SaleShop, network: str, count: int) -> None:
    for number in range(count):
        who = shopper(network, number)
        shop.customer(f"s{number}@example.com", (who.network, who.account_id, who.handle))


def key(network: str, n: int) -> str:
    """A post key the network accepts (a Bluesky rkey, a numeric id), in order of `n`."""
    return f"3mmclaim{n:06d}" if network == "bluesky" else str(8_000_000 + n)


def post_id(network: str, number: int, n: int) -> str:
    """The id of shopper `number`'s claim `n` as the network gives it."""
    return shopper(network, number).post_id(key(network, n))
