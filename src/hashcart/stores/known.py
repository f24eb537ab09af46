"""The stores hashcart knows, registered by name for the `store` setting (the composition
root, bootstrap, imports this). A store engine is added here with one line."""

from hashcart.stores import registry
from hashcart.stores.shopify.store import ShopifyStore
from hashcart.stores.vendure import VendureStore

registry.register("vendure", VendureStore.from_settings)
registry.register("shopify", ShopifyStore.from_settings)
