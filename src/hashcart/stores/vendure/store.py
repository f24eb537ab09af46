"""VendureStore: ports.CommerceStore on a Vendure server.

- Catalog and stock: the Admin API's `productVariants` (paged by `skip`/`take`, sorted by
  id), one variant's live price and stock: `productVariant(id)`. Prices are what the shopper
  pays (`priceWithTax`, in the currency's minor units); the sellable count is
  `stockOnHand - stockAllocated - outOfStockThreshold` when the variant tracks inventory
  (its own `trackInventory`, or the global setting when it says INHERIT).
- Handoff: the Shop API, as a guest: `addItemToOrder` for each line makes the shopper's
  active order; `setCustomerForOrder` gives it the shopper's email when hashcart knows it and
  the store takes it as a guest's. The order's session token continues it on the merchant's
  storefront (`store_checkout_url` with `{token}` and `{code}`). A shopper who linked their
  store account (signed in through the Shop API's `login`; hashcart keeps the session token
  sealed) gets the lines in their own active order instead.
- Orders back: the Admin API's `orders` placed since a time (polling; Vendure sends no
  webhooks of its own), matched to a handoff by the order's code.

Vendure keeps prices and stock levels in entities of their own, so a changed price or count
does not move the variant's `updatedAt`: `list_variants` always lists the whole catalog, and
`changed_since` is not sent (a page is 100 variants; a sync of a few thousand is a few dozen
requests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from hashcart.config import Settings
from hashcart.ports import (
    CustomerSessionLapsed,
    Handoff,
    HandoffLine,
    StoreOrder,
    StorePage,
    StoreRefused,
    StoreVariant,
)
from hashcart.stores.registry import StoreNotConfigured
from hashcart.stores.vendure.graphql import (
    TIMEOUT_SECONDS,
    GraphQLRefusal,
    VendureApi,
    business_error,
)

PAGE_SIZE = 100
# ISO 4217 currencies without minor units (Vendure stores amounts in minor units).
_NO_MINOR_UNITS = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"})
_NO_MINOR_UNITS |= {"RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}

_VARIANT_FIELDS = """
  id name sku enabled priceWithTax currencyCode updatedAt
  stockOnHand stockAllocated outOfStockThreshold trackInventory
  featuredAsset { preview }
  options { name group { code name } }
  product { id name slug description enabled featuredAsset { preview } }
"""
_VARIANTS = (
    "query($options: ProductVariantListOptions) { globalSettings { trackInventory } "
    "productVariants(options: $options) { totalItems items {" + _VARIANT_FIELDS + "} } }"
)
_VARIANT = (
    "query($id: ID!) { globalSettings { trackInventory } "
    "productVariant(id: $id) {" + _VARIANT_FIELDS + "} }"
)
_LOGIN = (
    "mutation($username: String!, $password: String!) { login(username: $username, "
    "password: $password) { __typename ... on ErrorResult { message } } }"
)
_ADD_ITEM = (
    "mutation($id: ID!, $quantity: Int!) { addItemToOrder(productVariantId: $id, "
    "quantity: $quantity) { __typename ... on Order { id code } "
    "... on ErrorResult { message } } }"
)
_CUSTOMER_LOGIN = (
    "mutation($username: String!, $password: String!) { login(username: $username, "
    "password: $password, rememberMe: true) { __typename ... on ErrorResult { message } } }"
)
_ACTIVE_CUSTOMER = (
    "query { activeCustomer { id } activeOrder { lines { id quantity productVariant { id } } } }"
)
_ADJUST_LINE = (
    "mutation($id: ID!, $quantity: Int!) { adjustOrderLine(orderLineId: $id, "
    "quantity: $quantity) { __typename ... on Order { id code } "
    "... on ErrorResult { message } } }"
)
_SET_CUSTOMER = (
    "mutation($input: CreateCustomerInput!) { setCustomerForOrder(input: $input) "
    "{ __typename ... on ErrorResult { message } } }"
)
_ORDERS = """
query($options: OrderListOptions) { orders(options: $options) { totalItems items {
  code state totalWithTax currencyCode orderPlacedAt updatedAt
  customer { emailAddress }
  lines { quantity unitPriceWithTax productVariant { id } }
} } }
"""


def _amount(minor: int | None, currency: str) -> Decimal:
    if minor is None:
        return Decimal(0)
    places = 0 if currency.upper() in _NO_MINOR_UNITS else 2
    return Decimal(int(minor)).scaleb(-places)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class VendureStore:
    name = "vendure"
    label = "Vendure"

    def __init__(
        self,
        url: str,
        checkout_url: str,
        storefront_url: str | None = None,
        *,
        admin_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        label: str | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.shop_endpoint = f"{base}/shop-api"
        self.admin = VendureApi(f"{base}/admin-api", admin_token)
        self._credentials = (username, password) if username and password else None
        if admin_token is None and self._credentials is None:
            raise StoreNotConfigured(
                "store = vendure needs vendure_admin_token, or vendure_admin_username and "
                "vendure_admin_password"
            )
        self.checkout_url = checkout_url
        self.storefront_url = (storefront_url or _origin(checkout_url)).rstrip("/")
        if label:
            self.label = label

    @classmethod
    def from_settings(cls, settings: Settings) -> VendureStore:
        if not settings.vendure_url:
            raise StoreNotConfigured("store = vendure needs vendure_url (the Vendure server)")
        checkout = settings.store_checkout_url or f"{settings.vendure_url.rstrip('/')}/checkout"
        token = settings.vendure_admin_token
        password = settings.vendure_admin_password
        return cls(
            settings.vendure_url,
            checkout,
            settings.store_storefront_url,
            admin_token=token.get_secret_value() if token else None,
            username=settings.vendure_admin_username,
            password=password.get_secret_value() if password else None,
        )

    # --- the Admin API: catalog, stock, orders --------------------------------------------

    def _admin(self, query: str, **variables: Any) -> dict[str, Any]:
        """An Admin API call, signing in first (and again once when the session lapsed)."""
        if self.admin.token is None and self._credentials is not None:
            self._sign_in()
        try:
            return self.admin.call(query, **variables)
        except GraphQLRefusal as refusal:
            if "FORBIDDEN" not in refusal.codes or self._credentials is None:
                raise
            self._sign_in()
            return self.admin.call(query, **variables)

    def _sign_in(self) -> None:
        assert self._credentials is not None
        username, password = self._credentials
        self.admin.token = None
        answer = self.admin.call(_LOGIN, username=username, password=password)
        business_error(answer["login"])

    def list_variants(self, cursor: str | None, changed_since: datetime | None) -> StorePage:
        skip = int(cursor) if cursor and cursor.isdigit() else 0
        options = {"skip": skip, "take": PAGE_SIZE, "sort": {"id": "ASC"}}
        data = self._admin(_VARIANTS, options=options)
        tracked = bool(data["globalSettings"]["trackInventory"])
        listing = data["productVariants"]
        variants = tuple(self._variant(item, tracked) for item in listing["items"])
        following = skip + len(listing["items"])
        more = bool(listing["items"]) and following < int(listing["totalItems"])
        return StorePage(variants, str(following) if more else None)

    def read_variant(self, variant_id: str) -> StoreVariant | None:
        if not variant_id.isdigit():  # Vendure's ids here are integers
            return None
        data = self._admin(_VARIANT, id=variant_id)
        item = data["productVariant"]
        tracked = bool(data["globalSettings"]["trackInventory"])
        return None if item is None else self._variant(item, tracked)

    def _variant(self, item: dict[str, Any], tracked_globally: bool) -> StoreVariant:
        product = item["product"]
        currency = str(item["currencyCode"])
        track = item.get("trackInventory")
        tracked = tracked_globally if track == "INHERIT" else track == "TRUE"
        stock = None
        if tracked:
            sellable = (
                int(item["stockOnHand"])
                - int(item["stockAllocated"])
                - int(item.get("outOfStockThreshold") or 0)
            )
            stock = max(sellable, 0)
        options = {
            str(option["group"]["code"]).lower(): str(option["name"])
            for option in item.get("options") or []
        }
        asset = item.get("featuredAsset") or product.get("featuredAsset") or {}
        return StoreVariant(
            variant_id=str(item["id"]),
            product_id=str(product["id"]),
            title=str(item["name"] or product["name"]),
            price=_amount(item["priceWithTax"], currency),
            currency=currency,
            stock=stock,
            url=f"{self.storefront_url}/products/{product['slug']}?variant={item['id']}",
            sku=item.get("sku") or None,
            options=options,
            image_url=asset.get("preview") or None,
            description=product.get("description") or None,
            updated_at=_when(item.get("updatedAt")),
            enabled=bool(item["enabled"]) and bool(product.get("enabled", True)),
        )

    def orders_since(self, since: datetime | None) -> Sequence[StoreOrder]:
        """Orders placed (checked out: `orderPlacedAt` set) and changed since `since`."""
        found: list[StoreOrder] = []
        skip = 0
        order_filter: dict[str, Any] = {"orderPlacedAt": {"isNull": False}}
        if since is not None:
            order_filter["updatedAt"] = {"after": since.astimezone(UTC).isoformat()}
        while True:
            options = {
                "skip": skip,
                "take": PAGE_SIZE,
                "sort": {"id": "ASC"},
                "filter": order_filter,
            }
            listing = self._admin(_ORDERS, options=options)["orders"]
            for item in listing["items"]:
                found.append(self._order(item))
            skip += len(listing["items"])
            if not listing["items"] or skip >= int(listing["totalItems"]):
                return found

    @staticmethod
    def _order(item: dict[str, Any]) -> StoreOrder:
        currency = str(item["currencyCode"])
        customer = item.get("customer") or {}
        return StoreOrder(
            reference=str(item["code"]),
            handoff_reference=str(item["code"]),
            state=str(item["state"]),
            total=_amount(item["totalWithTax"], currency),
            currency=currency,
            placed_at=_when(item.get("orderPlacedAt")),
            lines=tuple(
                HandoffLine(
                    str(line["productVariant"]["id"]),
                    int(line["quantity"]),
                    _amount(line["unitPriceWithTax"], currency),
                )
                for line in item["lines"]
            ),
            email=customer.get("emailAddress") or None,
        )

    # --- the Shop API: the handoff ----------------------------------------------------------

    def hand_off(
        self, lines: Sequence[HandoffLine], shopper_email: str | None, reference: str
    ) -> Handoff:
        """A new guest session at the store, its active order holding the lines. Vendure
        takes no key of ours for it: `reference` is kept by the caller with the order's code
        (a repeated handoff makes a second guest order, which nobody checks out)."""
        if not lines:
            raise StoreRefused("there is nothing to hand over")
        # A client of its own: the admin's session cookie must not come along (Vendure
        # would take the shopper's order as the administrator's).
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            return self._hand_off(
                VendureApi(self.shop_endpoint, client=client), lines, shopper_email
            )

    # --- a shopper's own store account (ports.StoreCustomerAccounts) ---------------------

    def sign_in_customer(self, email: str, password: str) -> str:
        """A Shop API session of the customer (`login` with rememberMe, so it lasts as
        Vendure's `authOptions.sessionDuration` says); its token."""
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            shop = VendureApi(self.shop_endpoint, client=client)
            business_error(shop.call(_CUSTOMER_LOGIN, username=email, password=password)["login"])
            if shop.token is None:
                raise StoreRefused("Vendure signed the customer in without a session token")
            return shop.token

    def hand_off_to_customer(
        self, lines: Sequence[HandoffLine], session: str, reference: str
    ) -> Handoff:
        """The lines in the customer's own active order, in their session: a variant it
        lacks is added (`addItemToOrder`), one it holds fewer of is raised to the handed-off
        quantity (`adjustOrderLine`), so handing the same cart over twice does not double it.
        A session Vendure no longer knows is anonymous there (`activeCustomer` null):
        CustomerSessionLapsed, before anything is added. The checkout URL carries no token
        (`{token}` is left empty): they are signed in to their store account."""
        if not lines:
            raise StoreRefused("there is nothing to hand over")
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            shop = VendureApi(self.shop_endpoint, session, client=client)
            found = shop.call(_ACTIVE_CUSTOMER)
            if found.get("activeCustomer") is None:
                raise CustomerSessionLapsed("the store account's session has lapsed: link it again")
            held = {
                str(line["productVariant"]["id"]): (str(line["id"]), int(line["quantity"]))
                for line in (found.get("activeOrder") or {}).get("lines") or []
            }
            code = ""
            wanted: list[HandoffLine] = []
            for line in lines:
                if line.variant_id not in held:
                    wanted.append(line)
                    continue
                line_id, quantity = held[line.variant_id]
                if quantity < line.quantity:
                    order = shop.call(_ADJUST_LINE, id=line_id, quantity=line.quantity)
                    business_error(order["adjustOrderLine"])
                    code = str(order["adjustOrderLine"]["code"])
            if wanted:
                return self._hand_off(shop, wanted, None, token_in_url=False)
            if not code:
                code = str(shop.call("query { activeOrder { code } }")["activeOrder"]["code"])
            url = self.checkout_url.replace("{token}", "").replace("{code}", code)
            return Handoff(url, code)

    def _hand_off(
        self,
        shop: VendureApi,
        lines: Sequence[HandoffLine],
        shopper_email: str | None,
        *,
        token_in_url: bool = True,
    ) -> Handoff:
        code = ""
        for line in lines:
            result = shop.call(_ADD_ITEM, id=line.variant_id, quantity=line.quantity)
            order = result["addItemToOrder"]
            business_error(order)
            code = str(order["code"])
        if shopper_email:
            result = shop.call(
                _SET_CUSTOMER,
                input={"emailAddress": shopper_email, "firstName": "", "lastName": ""},
            )
            answer = result["setCustomerForOrder"]
            # An email of a registered customer of the store: they sign in there to finish
            # (the guest order joins their account), so the handoff goes on without it.
            if answer.get("__typename") != "EmailAddressConflictError":
                business_error(answer)
        assert shop.token is not None, "Vendure answered addItemToOrder without a session"
        token = shop.token if token_in_url else ""
        url = self.checkout_url.replace("{token}", token).replace("{code}", code)
        return Handoff(url, code)
