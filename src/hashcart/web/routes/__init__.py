"""Every router, one module per area; app.create_app includes them all."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# Modules under hashcart.web.routes, each with a `router`.
AREAS = (
    "home",
    "auth",
    "sign_up_confirm",
    "merchant_auth",
    "cart",
    "account",
    "account_payment",
    "checkout",
    "orders",
    "shopfront",
    "merchant_home",
    "merchant_catalog",
    "merchant_settings",
    "merchant_customers",
    "merchant_orders",
    "merchant_outbox",
    "merchant_posts",
    "merchant_live",
    "api",
    "stripe_webhook",  # before "webhooks": /webhooks/stripe is no network
    "shopify_webhook",  # before "webhooks" too: /webhooks/shopify (issue 16)
    "webhooks",
    "account_oauth",
    "merchant_networks",
    "merchant_x_webhook",
    "merchant_connect",
    # --- offers by hashtag (issue 12) ---
    "merchant_offers",
    # --- live sales (issue 13) ---
    "merchant_sales",
    # --- product pages with pictures (issue 14) ---
    "pictures",
    "product_page",
    "merchant_pictures",
    # --- the console's API tokens and the merchant's words (issue 14) ---
    "merchant_tokens",
    "merchant_messages",
)


def all_routers() -> list[APIRouter]:
    routers = []
    for area in AREAS:
        module = importlib.import_module(f"hashcart.web.routes.{area}")
        routers.append(module.router)
    return routers
