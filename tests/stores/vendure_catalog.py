"""Products made at the test Vendure through its Admin API, as a merchant would make them
(https://docs.vendure.io/reference/graphql-api/admin/mutations: createProductOptionGroup,
createProduct, addOptionGroupToProduct, createProductVariants, updateProductVariants), and
a shopper finishing a handed-off order through the Shop API."""

from __future__ import annotations

from dataclasses import dataclass

from tests.peers.vendure.fixture import VendurePeer, VendureSession, unique

STOREFRONT = "https://store.example"
CHECKOUT_URL = f"{STOREFRONT}/checkout?token={{token}}&order={{code}}"


@dataclass(frozen=True)
class Made:
    product_id: str
    slug: str
    variant_ids: dict[str, str]  # size code -> variant id

    def url(self, size: str) -> str:
        return f"{STOREFRONT}/products/{self.slug}?variant={self.variant_ids[size]}"


def make_product(
    vendure: VendurePeer, name: str, stock: dict[str, int], price_minor: int = 1250
) -> Made:
    """A product with one variant per size in `stock` (code -> units on hand)."""
    admin = vendure.admin()
    slug = unique(name.lower().replace(" ", "-"))
    group = admin.call(
        "mutation($i: CreateProductOptionGroupInput!) { createProductOptionGroup(input: $i) "
        "{ id options { id code } } }",
        i={
            "code": f"size-{slug}",
            "translations": [{"languageCode": "en", "name": "Size"}],
            "options": [
                {"code": code, "translations": [{"languageCode": "en", "name": code.upper()}]}
                for code in stock
            ],
        },
    )["createProductOptionGroup"]
    product = admin.call(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { id slug } }",
        i={
            "translations": [
                {"languageCode": "en", "name": name, "slug": slug, "description": f"{name}."}
            ]
        },
    )["createProduct"]
    admin.call(
        "mutation($p: ID!, $g: ID!) { addOptionGroupToProduct(productId: $p, "
        "optionGroupId: $g) { id } }",
        p=product["id"],
        g=group["id"],
    )
    variants = admin.call(
        "mutation($i: [CreateProductVariantInput!]!) { createProductVariants(input: $i) "
        "{ id sku } }",
        i=[
            {
                "productId": product["id"],
                "sku": f"{slug}-{option['code']}",
                "price": price_minor,
                "stockOnHand": stock[option["code"]],
                "optionIds": [option["id"]],
                "translations": [
                    {"languageCode": "en", "name": f"{name} {option['code'].upper()}"}
                ],
            }
            for option in group["options"]
        ],
    )["createProductVariants"]
    by_sku = {variant["sku"]: variant["id"] for variant in variants}
    return Made(product["id"], product["slug"], {code: by_sku[f"{slug}-{code}"] for code in stock})


def update_variant(vendure: VendurePeer, variant_id: str, **fields: object) -> None:
    vendure.admin().call(
        "mutation($i: [UpdateProductVariantInput!]!) { updateProductVariants(input: $i) { id } }",
        i=[{"id": variant_id, **fields}],
    )


def check_out_as_shopper(shopper: VendureSession) -> dict[str, object]:
    """What a shopper does on the storefront with the handed-off order: address, shipping,
    ArrangingPayment, then the `standard-payment` method (Vendure's dummy handler, which
    authorises). The order as it stands after the payment."""
    shopper.call(
        "mutation($i: CreateAddressInput!) { setOrderShippingAddress(input: $i) { __typename } }",
        i={
            "fullName": "Sam Shopper",
            "streetLine1": "1 Trail Road",
            "city": "Leeds",
            "postalCode": "LS1 1AA",
            "countryCode": "GB",
        },
    )
    methods = shopper.call("{ eligibleShippingMethods { id } }")["eligibleShippingMethods"]
    shopper.call(
        "mutation($ids: [ID!]!) { setOrderShippingMethod(shippingMethodId: $ids) { __typename } }",
        ids=[methods[0]["id"]],
    )
    moved = shopper.call(
        'mutation { transitionOrderToState(state: "ArrangingPayment") '
        "{ __typename ... on Order { state } ... on OrderStateTransitionError "
        "{ transitionError } } }"
    )["transitionOrderToState"]
    assert moved.get("state") == "ArrangingPayment", moved
    paid = shopper.call(
        'mutation { addPaymentToOrder(input: {method: "standard-payment", metadata: {}}) '
        "{ __typename ... on Order { code state totalWithTax } "
        "... on ErrorResult { message } } }"
    )["addPaymentToOrder"]
    assert isinstance(paid, dict)
    return paid
