"""The GraphQL documents hashcart sends to a Shopify shop, in one place.

Admin API (https://shopify.dev/docs/api/admin-graphql): `productVariants` with cursor paging
(https://shopify.dev/docs/api/admin-graphql/latest/queries/productVariants, paging:
https://shopify.dev/docs/api/usage/pagination-graphql), one `productVariant` with its
`inventoryLevels` (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel),
inventory items' variants through `nodes`, and `orders`
(https://shopify.dev/docs/api/admin-graphql/latest/queries/orders).
Storefront API: `cartCreate`
(https://shopify.dev/docs/api/storefront/latest/mutations/cartCreate)."""

from __future__ import annotations

# What hashcart reads of a variant, everywhere it reads one.
VARIANT_FIELDS = """
fragment VariantFields on ProductVariant {
  id
  title
  sku
  price
  updatedAt
  inventoryQuantity
  selectedOptions { name value }
  inventoryItem { id tracked }
  product {
    id
    title
    handle
    status
    onlineStoreUrl
    description
    featuredMedia { preview { image { url } } }
  }
}
"""

VARIANTS = (
    """
query Variants($first: Int!, $after: String, $query: String) {
  shop { currencyCode }
  productVariants(first: $first, after: $after, query: $query) {
    nodes { ...VariantFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + VARIANT_FIELDS
)

# One variant's live price and stock: `available` summed over its inventory levels.
VARIANT = (
    """
query Variant($id: ID!) {
  shop { currencyCode }
  productVariant(id: $id) {
    ...VariantFields
    inventoryItem {
      inventoryLevels(first: 50) { nodes { quantities(names: ["available"]) { name quantity } } }
    }
  }
}
"""
    + VARIANT_FIELDS
)

# The variants an `inventory_levels/update` webhook names by inventory item.
INVENTORY_ITEM_VARIANTS = (
    """
query InventoryItemVariants($ids: [ID!]!) {
  shop { currencyCode }
  nodes(ids: $ids) { ... on InventoryItem { variant { ...VariantFields } } }
}
"""
    + VARIANT_FIELDS
)

ORDERS = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    nodes {
      id
      name
      createdAt
      displayFinancialStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      customAttributes { key value }
      lineItems(first: 100) { nodes { quantity variant { id } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CART_CREATE = """
mutation Handoff($input: CartInput!) {
  cartCreate(input: $input) {
    cart { id checkoutUrl }
    userErrors { field message code }
    warnings { code message }
  }
}
"""
