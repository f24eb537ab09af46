"""The web: the shop, the shopper's account, the merchant console and the JSON API (FastAPI)."""

from hashcart.web.app import create_app

__all__ = ["create_app"]
